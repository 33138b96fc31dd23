package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// killRun is a collector with the csv exporter killed with SIGKILL under v1
// load and started again on the same data directory. Every event answered
// 2xx must then be in the CSV event files, every entity whose finished
// event was answered 2xx in the entity files, and every row of the files
// must be a whole row of an event that was sent.
type killRun struct {
	// start runs the collector on the data directory (again) and waits
	// until it is healthy.
	start func() *testcollector.Collector
	// v1Port is the wafermonitor receiver's port on 127.0.0.1.
	v1Port int
	// csvDir holds the csv exporter's files (csvEvents, csvEntities).
	csvDir string
	// batchClients post one job a request to /v1/events/batch;
	// singleClients post a job's events one request each to /v1/event.
	batchClients, singleClients int
	// killAfter: the collector is killed once this many events were accepted.
	killAfter int
	// wait bounds the wait after the restart for the accepted events and
	// entities to be in the files.
	wait time.Duration
	// measure: accepted events missing from the files after wait are
	// counted and logged instead of failing the test.
	measure bool
}

// subjobsPerJob of the generated jobs: 8 events each.
const subjobsPerJob = 3

// killLoad is what the clients sent and what the collector answered.
type killLoad struct {
	mu sync.Mutex
	// sent: every event posted, answered or not, by idempotency key.
	sent map[string]v1Event
	// sentEntities: every entity ID posted.
	sentEntities map[string]bool
	// accepted: the idempotency keys answered 2xx.
	accepted map[string]bool
	// finished: entity ID → its job's ID, for every entity whose finished
	// event was answered 2xx.
	finished map[string]string
	// acceptedSubjobs counts per job the subjobs whose finished event was
	// answered 2xx.
	acceptedSubjobs map[string]int
	// acceptedSingle counts the accepted events posted alone.
	acceptedSingle int
	// requests that reached the collector; of them, answered other than
	// 2xx, and cut off by the kill (in flight), with their events.
	requests, refused, inFlight, inFlightEvents int
}

func (l *killLoad) acceptedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// post sends evs in one request and records the answer. It returns false
// when the client should stop: the collector was killed, or a request
// failed before the kill (reported as an error).
func (l *killLoad) post(t *testing.T, client *http.Client, url string, evs []v1Event, body []byte, killed *atomic.Bool) bool {
	l.mu.Lock()
	for _, e := range evs {
		l.sent[e.key] = e
		l.sentEntities[e.entity] = true
	}
	l.mu.Unlock()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		switch {
		case !killed.Load():
			t.Errorf("POST %s before the kill: %v", url, err)
		case !errors.Is(err, syscall.ECONNREFUSED):
			// It reached the collector before the kill; one that found
			// the collector gone is not counted.
			l.requests++
			l.inFlight++
			l.inFlightEvents += len(evs)
		}
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.requests++
	if resp.StatusCode/100 != 2 {
		l.refused++
		return !killed.Load()
	}
	if len(evs) == 1 {
		l.acceptedSingle++
	}
	for _, e := range evs {
		l.accepted[e.key] = true
		if e.kind == "finished" {
			l.finished[e.entity] = e.job
			if e.entity != e.job {
				l.acceptedSubjobs[e.job]++
			}
		}
	}
	return !killed.Load()
}

// run posts jobs until killAfter events were accepted, kills the collector
// with SIGKILL, starts it again, waits for the accepted events and
// entities, stops it, checks the files and logs the figures.
func (k killRun) run(t *testing.T) {
	c := k.start()
	load := &killLoad{
		sent: map[string]v1Event{}, sentEntities: map[string]bool{}, accepted: map[string]bool{},
		finished: map[string]string{}, acceptedSubjobs: map[string]int{},
	}
	clients := k.batchClients + k.singleClients
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients},
	}
	defer client.CloseIdleConnections()
	base := fmt.Sprintf("http://127.0.0.1:%d", k.v1Port)
	var killed atomic.Bool
	var wg sync.WaitGroup
	for i := range clients {
		single := i >= k.batchClients
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				evs := jobEvents(subjobsPerJob)
				if !single {
					if !load.post(t, client, base+"/v1/events/batch", evs, batchBody(evs), &killed) {
						return
					}
					continue
				}
				for _, e := range evs {
					if !load.post(t, client, base+"/v1/event", []v1Event{e}, []byte(e.json), &killed) {
						return
					}
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for load.acceptedCount() < k.killAfter && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(10 * time.Millisecond)
	}
	killed.Store(true)
	c.Kill()
	wg.Wait()
	// The clients are done: load is read without its lock from here on.
	if len(load.accepted) < k.killAfter {
		t.Fatalf("%d events accepted in 30 s, want %d before the kill", len(load.accepted), k.killAfter)
	}

	atKill, _ := readCSVOutput(t, k.csvDir, csvEvents) // may end in a torn row
	keysAtKill := countColumn(atKill.rows, "idempotency_key")
	writtenAtKill := 0
	for key := range load.accepted {
		if keysAtKill[key] > 0 {
			writtenAtKill++
		}
	}

	c = k.start()
	var missing, missingEntities []string
	for deadline := time.Now().Add(k.wait); ; time.Sleep(50 * time.Millisecond) {
		events, _ := readCSVOutput(t, k.csvDir, csvEvents)
		missing = absent(load.accepted, countColumn(events.rows, "idempotency_key"))
		entities, _ := readCSVOutput(t, k.csvDir, csvEntities)
		missingEntities = absent(load.finished, countColumn(entities.rows, "entity_id"))
		if len(missing)+len(missingEntities) == 0 || time.Now().After(deadline) {
			break
		}
	}
	// A clean stop: every file is complete.
	c.Stop()

	events, err := readCSVOutput(t, k.csvDir, csvEvents)
	if err != nil {
		t.Errorf("event files: %v", err)
	}
	entities, err := readCSVOutput(t, k.csvDir, csvEntities)
	if err != nil {
		t.Errorf("entity files: %v", err)
	}
	keys := countColumn(events.rows, "idempotency_key")
	ids := countColumn(entities.rows, "entity_id")
	missing = absent(load.accepted, keys)
	missingEntities = absent(load.finished, ids)
	// Every row is whole (every column, a line end) and of an event or
	// entity that was sent; rows cut by the kill must have been set aside
	// in a .torn file.
	if torn := slices.Concat(events.tornRows, entities.tornRows); len(torn) > 0 {
		t.Errorf("%d rows in the CSV files are not whole and were not set aside in a .torn file: %v", len(torn), first(torn, 5))
	}
	for _, r := range events.rows {
		e, ok := load.sent[r["idempotency_key"]]
		switch {
		case !ok:
			t.Errorf("event row with idempotency key %q, which was never sent: %v", r["idempotency_key"], r)
		case r["entity_id"] != e.entity || r["event_kind"] != e.kind:
			t.Errorf("event row %q: entity %q, kind %q; sent entity %q, kind %q", e.key, r["entity_id"], r["event_kind"], e.entity, e.kind)
		}
	}
	for id := range ids {
		if !load.sentEntities[id] {
			t.Errorf("entity row with entity ID %q, which was never sent (a torn row?)", id)
		}
	}
	notAccepted := 0
	for key := range keys {
		if !load.accepted[key] {
			notAccepted++
		}
	}
	// Roll-ups: a job's subjobs_total against its subjobs accepted. Measured:
	// the jobhierarchy processor writes its state to storage every
	// check_interval, and queued subjob spans written again count twice.
	var rollupsShort, rollupsOver int
	for _, r := range entities.rows {
		if r["entity_type"] != "job" || load.finished[r["entity_id"]] == "" {
			continue
		}
		n, _ := strconv.Atoi(r["subjobs_total"])
		switch want := load.acceptedSubjobs[r["entity_id"]]; {
		case n < want:
			rollupsShort++
		case n > want:
			rollupsOver++
		}
	}
	t.Logf("FIGURES sent %d events in %d requests (%d batch, %d single-event clients); accepted %d (%d of them alone); "+
		"refused %d requests; in flight at the kill %d requests (%d events); "+
		"in the CSV files at the kill %d of the accepted, written after the restart %d; "+
		"after the restart %d of %d accepted in the CSV files, %d rows, %d duplicate rows, %d rows of events not answered 2xx; "+
		"entities: %d of %d finished in the files, %d rows, %d duplicate rows; "+
		"torn rows set aside: %d events, %d entities file(s); job roll-ups short %d, over %d",
		len(load.sent), load.requests, k.batchClients, k.singleClients, len(load.accepted), load.acceptedSingle,
		load.refused, load.inFlight, load.inFlightEvents,
		writtenAtKill, len(load.accepted)-len(missing)-writtenAtKill,
		len(load.accepted)-len(missing), len(load.accepted), len(events.rows), duplicates(keys), notAccepted,
		len(load.finished)-len(missingEntities), len(load.finished), len(entities.rows), duplicates(ids),
		events.torn, entities.torn, rollupsShort, rollupsOver)

	if len(missing) > 0 || len(missingEntities) > 0 {
		if k.measure {
			t.Logf("FIGURES lost (measured, not asserted): %d of %d accepted events, %d of %d finished entities, %s after the restart",
				len(missing), len(load.accepted), len(missingEntities), len(load.finished), k.wait)
			return
		}
		t.Errorf("%s after the restart, %d of %d accepted events are not in the CSV event files (e.g. %v), "+
			"%d of %d finished entities not in the entity files (e.g. %v)",
			k.wait, len(missing), len(load.accepted), first(missing, 3),
			len(missingEntities), len(load.finished), first(missingEntities, 3))
	}
}

// countColumn counts the rows per value of one column.
func countColumn(rows []map[string]string, column string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[r[column]]++
	}
	return n
}

// absent lists the keys of want that have no row.
func absent[V any](want map[string]V, rows map[string]int) []string {
	var out []string
	for k := range want {
		if rows[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// duplicates counts the rows beyond the first of each value.
func duplicates(rows map[string]int) int {
	d := 0
	for _, n := range rows {
		d += max(n-1, 0)
	}
	return d
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
