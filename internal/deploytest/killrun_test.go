package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
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
	// measure: the configuration acknowledges rows that wait in memory
	// (flush_interval above 0): accepted events missing after the restart
	// are counted and must fit in the writer's buffers, rather than failing
	// the test. wait then bounds the wait for a marker sent after the
	// restart, behind which everything queued was written.
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
	requests, refused, refusedEvents, inFlight, inFlightEvents int
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
		l.refusedEvents += len(evs)
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
	// The files the writer may have had open at the kill: its memory held
	// less than flushThreshold bytes of rows for each.
	openEvents, _ := filepath.Glob(filepath.Join(k.csvDir, csvEvents+"_*.csv"))
	openEntities, _ := filepath.Glob(filepath.Join(k.csvDir, csvEntities+"_*.csv"))

	c = k.start()
	if k.measure {
		// What was lost does not come: wait until everything queued before
		// a marker was taken from the queue, then stop (the queue's batch
		// and the writer's buffers are written at a clean stop).
		marker := load.postMarker(t, fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", k.v1Port))
		testcollector.WaitFor(t, k.wait, "the marker's row after the restart", func() bool {
			events, _ := readCSVOutput(t, k.csvDir, csvEvents)
			return countColumn(events.rows, "idempotency_key")[marker] > 0
		})
	} else {
		for deadline := time.Now().Add(k.wait); ; time.Sleep(50 * time.Millisecond) {
			events, _ := readCSVOutput(t, k.csvDir, csvEvents)
			entities, _ := readCSVOutput(t, k.csvDir, csvEntities)
			if len(absent(load.accepted, countColumn(events.rows, "idempotency_key")))+
				len(absent(load.finished, countColumn(entities.rows, "entity_id"))) == 0 || time.Now().After(deadline) {
				break
			}
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
	missing := absent(load.accepted, keys)
	missingEntities := absent(load.finished, ids)
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
	// Roll-ups: every job of an accepted request was rolled up in one
	// lifetime of the process (its subjobs and its end before the kill), so
	// its row carries every subjob accepted, whatever was written again.
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
	// Rows written twice: a batch written just before the kill whose
	// removal from the queue was not recorded is written again after the
	// restart, once; so each such row was in the files at the kill.
	rewritten := 0
	for key, n := range keys {
		if n > 1 && (n > 2 || keysAtKill[key] == 0) {
			rewritten++
			if rewritten <= 3 {
				t.Errorf("event %s: %d rows, %d of them in the files at the kill; a row is written again at most once, after the restart, if it was written before the kill",
					key, n, keysAtKill[key])
			}
		}
	}
	t.Logf("FIGURES sent %d events in %d requests (%d batch, %d single-event clients); accepted %d (%d of them alone); "+
		"refused %d requests (%d events); in flight at the kill %d requests (%d events); "+
		"in the CSV files at the kill %d of the accepted, written after the restart %d; "+
		"after the restart %d of %d accepted in the CSV files, %d rows, %d duplicate rows, %d rows of events not answered 2xx; "+
		"entities: %d of %d finished in the files, %d rows, %d duplicate rows; "+
		"torn rows set aside: %d events, %d entities file(s); job roll-ups short %d, over %d",
		len(load.sent), load.requests, k.batchClients, k.singleClients, len(load.accepted), load.acceptedSingle,
		load.refused, load.refusedEvents, load.inFlight, load.inFlightEvents,
		writtenAtKill, len(load.accepted)-len(missing)-writtenAtKill,
		len(load.accepted)-len(missing), len(load.accepted), len(events.rows), duplicates(keys), notAccepted,
		len(load.finished)-len(missingEntities), len(load.finished), len(entities.rows), duplicates(ids),
		events.torn, entities.torn, rollupsShort, rollupsOver)

	if load.inFlight > clients {
		t.Errorf("%d requests in flight at the kill, more than the %d clients, which send one at a time", load.inFlight, clients)
	}
	if load.refused > 0 {
		t.Errorf("%d requests (%d events) refused under a load of %d clients: an old client drops a refused event", load.refused, load.refusedEvents, clients)
	}
	if notAccepted > load.inFlightEvents+load.refusedEvents {
		t.Errorf("%d rows of events not answered 2xx, more than the %d events in flight at the kill and %d refused", notAccepted, load.inFlightEvents, load.refusedEvents)
	}
	if rollupsShort+rollupsOver > 0 {
		t.Errorf("job roll-ups: %d jobs count fewer subjobs than were accepted, %d more", rollupsShort, rollupsOver)
	}
	if k.measure {
		// Rows answered 200 but lost: only those the writer held in memory,
		// less than flushThreshold bytes per open file.
		lostEventBytes := len(missing) * minRowBytes(events.rows)
		lostEntityBytes := len(missingEntities) * minRowBytes(entities.rows)
		t.Logf("FIGURES lost: %d of %d accepted events (at least %d bytes; bound %d bytes: %d open file(s) of %d KiB buffered), "+
			"%d of %d finished entities (at least %d bytes; bound %d bytes: %d open file(s))",
			len(missing), len(load.accepted), lostEventBytes, flushThreshold*len(openEvents), len(openEvents), flushThreshold>>10,
			len(missingEntities), len(load.finished), lostEntityBytes, flushThreshold*len(openEntities), len(openEntities))
		if lostEventBytes >= flushThreshold*len(openEvents) || lostEntityBytes >= flushThreshold*len(openEntities) {
			t.Errorf("more rows lost than the writer's buffers hold: events %d bytes, entities %d bytes, bound %d KiB per open file",
				lostEventBytes, lostEntityBytes, flushThreshold>>10)
		}
		return
	}
	if len(missing) > 0 || len(missingEntities) > 0 {
		t.Errorf("%s after the restart, %d of %d accepted events are not in the CSV event files (e.g. %v), "+
			"%d of %d finished entities not in the entity files (e.g. %v)",
			k.wait, len(missing), len(load.accepted), first(missing, 3),
			len(missingEntities), len(load.finished), first(missingEntities, 3))
	}
}

// flushThreshold is the csv exporter's buffer per open file: with a
// flush_interval, rows wait in memory until the interval or this many
// bytes (its README).
const flushThreshold = 256 << 10

// minRowBytes is a lower bound of the encoded length of the shortest row:
// its values, the delimiters and a line end, without quotes.
func minRowBytes(rows []map[string]string) int {
	least := 0
	for i, r := range rows {
		n := len(r) - 1 + 2
		for _, v := range r {
			n += len(v)
		}
		if i == 0 || n < least {
			least = n
		}
	}
	return least
}

// postMarker posts one new job (started and finished) and records it as
// sent and accepted; it returns the idempotency key of its first event.
func (l *killLoad) postMarker(t *testing.T, url string) string {
	t.Helper()
	evs := jobEvents(0)
	resp, err := http.Post(url, "application/json", bytes.NewReader(batchBody(evs))) //nolint:gosec // loopback
	if err != nil {
		t.Fatalf("marker: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("marker: %s", resp.Status)
	}
	for _, e := range evs {
		l.sent[e.key] = e
		l.sentEntities[e.entity] = true
		l.accepted[e.key] = true
		if e.kind == "finished" {
			l.finished[e.entity] = e.job
		}
	}
	return evs[0].key
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
