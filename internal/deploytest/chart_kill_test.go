package deploytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// eventKeys names the events of a v1 batch by entity ID and event kind,
// which is unique in a jobBatch.
func eventKeys(body []byte) ([]string, error) {
	var events []struct {
		Entity struct {
			ID string `json:"id"`
		} `json:"entity"`
		Event struct {
			Kind string `json:"kind"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, err
	}
	keys := make([]string, len(events))
	for i, e := range events {
		keys[i] = e.Entity.ID + "/" + e.Event.Kind
	}
	return keys, nil
}

// eventRowKeys counts the event rows per entity ID and event kind.
func eventRowKeys(rows []map[string]string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[r["entity_id"]+"/"+r["event_kind"]]++
	}
	return n
}

// TestChartDefaultSurvivesKill runs the configuration the chart renders by
// default (mode agent exporting directly: memory_limiter → jobhierarchy →
// the csv exporter with a persistent queue that batches, flush_interval 0s)
// as a real collector, posts v1 jobs from 4 clients, kills it with SIGKILL
// under load, starts it again on the same data directory, and checks that
// every event answered 200 is in the CSV event files at least once, and
// every finished job and subjob of an accepted request in the entity files.
// Rows written twice (a batch written before the kill whose removal from the
// queue was not recorded yet) are counted and logged. The same run with the
// csv exporter's default flush_interval (1s), whose rows wait in memory after
// the queue let go of them, is measured for docs/guarantees.md, not asserted.
func TestChartDefaultSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector under load")
	}
	r := render(t)
	if got := len(r.workloads); got != 1 || r.workloads[0].component != "agent" {
		t.Fatalf("the chart's default renders %d workloads, want one agent", got)
	}
	t.Run("chart_default", func(t *testing.T) {
		killUnderLoad(t, componentConfig(t, r, "agent"), true)
	})
	t.Run("flush_interval_1s", func(t *testing.T) {
		cfg := componentConfig(t, r, "agent")
		dig(cfg, "exporters", "csv").(map[string]any)["flush_interval"] = "1s"
		killUnderLoad(t, cfg, false)
	})
}

// killUnderLoad runs a chart configuration with the csv output, kills it
// under load and starts it again (see TestChartDefaultSurvivesKill). With
// assert, an accepted event missing from the CSV files fails the test;
// without, the missing ones are counted after 10 s and logged.
func killUnderLoad(t *testing.T, chartCfg map[string]any, assert bool) {
	dir := t.TempDir()
	cfg, ports := localConfig(t, chartCfg, dir)
	c := startFromConfig(t, cfg, dir, ports[13133])

	const subjobs = 3
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", ports[17000])
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu           sync.Mutex
		accepted     = map[string]bool{} // entity ID/kind of every event answered 200
		acceptedJobs []string
		requests     atomic.Int64
		failed       atomic.Int64 // connection errors (the kill) and non-200 answers
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := jobBatch(subjobs)
				keys, err := eventKeys(body)
				if err != nil {
					t.Error(err)
					return
				}
				requests.Add(1)
				resp, err := client.Post(url, "application/json", strings.NewReader(string(body)))
				if err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond) // the collector is gone: no busy loop
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				mu.Lock()
				for _, k := range keys {
					accepted[k] = true
				}
				acceptedJobs = append(acceptedJobs, strings.TrimSuffix(keys[0], "/started"))
				mu.Unlock()
			}
		}()
	}
	acceptedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	testcollector.WaitFor(t, 60*time.Second, "5000 events accepted", func() bool { return acceptedCount() >= 5000 })
	c.Kill()
	close(stop)
	wg.Wait()

	atKill, _ := readCSVOutput(t, dir, csvEvents)
	inFiles := eventRowKeys(atKill.rows)
	written := 0
	for k := range accepted {
		if inFiles[k] > 0 {
			written++
		}
	}
	t.Logf("SIGKILL under load: %d requests, %d failed or refused; %d events accepted, %d of them in the CSV files at the kill (the rest not written yet)",
		requests.Load(), failed.Load(), len(accepted), written)

	c = startFromConfig(t, cfg, dir, ports[13133])
	var missing []string
	wait := 60 * time.Second
	if !assert {
		wait = 10 * time.Second // what is lost does not come
	}
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		files, _ := readCSVOutput(t, dir, csvEvents)
		rows := eventRowKeys(files.rows)
		missing = missing[:0]
		for k := range accepted {
			if rows[k] == 0 {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			if assert {
				t.Fatalf("%s after the restart, %d of %d accepted events are not in the CSV files (e.g. %s)",
					wait, len(missing), len(accepted), missing[0])
			}
			t.Logf("figures: %d of %d accepted events lost (not in the CSV files %s after the restart; not asserted)",
				len(missing), len(accepted), wait)
			return
		}
	}
	// Give the entities (spans) the same time to be written, then stop the
	// collector so that every file is complete.
	wantEntities := len(acceptedJobs) * (1 + subjobs)
	testcollector.WaitFor(t, 60*time.Second, "every accepted job's entities in the CSV files", func() bool {
		files, _ := readCSVOutput(t, dir, csvEntities)
		perJob := rowsPerJob(files.rows)
		for _, job := range acceptedJobs {
			if perJob[job] < 1+subjobs {
				return false
			}
		}
		return true
	})
	c.Stop()

	events, err := readCSVOutput(t, dir, csvEvents)
	if err != nil {
		t.Fatalf("event files after a clean stop: %v", err)
	}
	entities, err := readCSVOutput(t, dir, csvEntities)
	if err != nil {
		t.Fatalf("entity files after a clean stop: %v", err)
	}
	rows := eventRowKeys(events.rows)
	var dupEvents, notAccepted int
	for k, n := range rows {
		if n > 1 {
			dupEvents += n - 1
		}
		if !accepted[k] {
			notAccepted++
		}
	}
	found := 0
	for k := range accepted {
		if rows[k] == 0 {
			t.Errorf("accepted event %s is not in the CSV files", k)
			continue
		}
		found++
	}
	entityRows := map[string]int{}
	for _, r := range entities.rows {
		entityRows[r["entity_id"]]++
	}
	dupEntities := 0
	for _, n := range entityRows {
		if n > 1 {
			dupEntities += n - 1
		}
	}
	t.Logf("after the restart: %d accepted events, %d in the CSV files (%d rows: %d duplicate rows, %d events of requests in flight at the kill, not answered 200); "+
		"%d entities of %d accepted jobs in %d rows (%d duplicates); torn rows set aside: %d events file(s), %d entities file(s)",
		len(accepted), found, len(events.rows), dupEvents, notAccepted,
		wantEntities, len(acceptedJobs), len(entities.rows), dupEntities, events.torn, entities.torn)
}
