package deploytest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestDefaultConfigStartsOnDamagedFiles runs otelcol-config.yaml as a real
// collector, posts jobs so that the jobhierarchy processor's state and the
// csv exporter's queues are written, and kills it with SIGKILL. Started
// again, it must find nothing damaged. Killed again, its files are damaged
// as a power loss would (the state file and the logs queue cut short, the
// traces queue's first pages overwritten), and it is started again on the
// same data directory: it must start, move each damaged file aside (kept,
// logged), count them in its metrics, list them in the v1 health answer
// (degraded until their kept copies are removed), and take and write new
// events.
func TestDefaultConfigStartsOnDamagedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector")
	}
	dc := newDefaultConfig(t)
	dataDir, start := dc.dataDir, dc.start
	v1 := fmt.Sprintf("http://127.0.0.1:%d", dc.ports["WAFERMONITOR_V1_ENDPOINT"])
	queueDir := filepath.Join(dataDir, "queue")
	state := filepath.Join(queueDir, "processor_jobhierarchy_")

	c := start()
	// Jobs left open: their state is what the processor keeps.
	before := postKeyedJobs(t, v1, 20, true)
	testcollector.WaitFor(t, 30*time.Second, "the open jobs in the jobhierarchy state file", func() bool {
		b, _ := os.ReadFile(state) //nolint:gosec // the test's own file
		// Changes are journaled at each check, then folded into snapshots.
		return bytes.Contains(b, []byte("v2/update/")) || bytes.Contains(b, []byte("v2/snapshot/"))
	})
	waitForKeys(t, dataDir, before)
	c.Kill()

	c = start()
	if moved, _ := filepath.Glob(filepath.Join(queueDir, "*.damaged-*")); len(moved) > 0 || strings.Contains(c.Output(), "Storage file damaged") {
		t.Errorf("after a SIGKILL, files found damaged: %v", moved)
	}
	if h := v1Health(t, v1); h.Status != "ok" || len(h.DamagedFiles) > 0 {
		t.Errorf("after a SIGKILL and nothing damaged: health %q, damaged files %+v", h.Status, h.DamagedFiles)
	}
	before = append(before, postKeyedJobs(t, v1, 5, true)...)
	waitForKeys(t, dataDir, before)
	c.Kill()

	damaged := map[string]int64{ // file → its size after the damage
		state: 10000,
		filepath.Join(queueDir, "exporter_csv__logs"): 6000,
	}
	for f, size := range damaged {
		if err := os.Truncate(f, size); err != nil {
			t.Fatal(err)
		}
	}
	traces := filepath.Join(queueDir, "exporter_csv__traces")
	garbled, err := os.ReadFile(traces) //nolint:gosec // the test's own file
	if err != nil {
		t.Fatal(err)
	}
	copy(garbled, bytes.Repeat([]byte("power loss "), 8192/11+1)[:8192])
	if err := os.WriteFile(traces, garbled, 0o600); err != nil {
		t.Fatal(err)
	}
	damaged[traces] = int64(len(garbled))

	c = start()
	for f, size := range damaged {
		moved, _ := filepath.Glob(f + ".damaged-*")
		if len(moved) != 1 {
			t.Errorf("%s: want one file moved aside, found %v", f, moved)
			continue
		}
		if info, err := os.Stat(moved[0]); err != nil || info.Size() != size {
			t.Errorf("%s: the damaged file is not kept as it was (%v, %v)", moved[0], info, err)
		}
		if !strings.Contains(c.Output(), moved[0]) {
			t.Errorf("the log does not say where %s went (%s)", f, moved[0])
		}
	}
	if n := strings.Count(c.Output(), "Storage file damaged"); n != len(damaged) {
		t.Errorf("%d damaged files logged, want %d", n, len(damaged))
	}
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", dc.ports["WAFERMONITOR_TELEMETRY_PORT"])
	for f := range damaged {
		label := fmt.Sprintf("file=%q", filepath.Base(f))
		if got := scrapeGauge(t, metrics, "otelcol_extension_file_storage_damaged_files_total{", label); got != 1 {
			t.Errorf("otelcol_extension_file_storage_damaged_files_total{%s} = %v, want 1", label, got)
		}
	}
	checkDamagedInHealth(t, v1, damaged)

	after := postKeyedJobs(t, v1, 5, false)
	waitForKeys(t, dataDir, after)
	c.Stop()
	t.Logf("FIGURES %d events before the kills, %d files damaged and moved aside, %d events after the restart, all in the CSV files",
		len(before), len(damaged), len(after))
}

// postKeyedJobs posts n jobs with subjobs, one batch each, and returns their
// events' idempotency keys; open leaves out each job's finished event.
func postKeyedJobs(t *testing.T, v1 string, n int, open bool) []string {
	t.Helper()
	var keys []string
	for range n {
		evs := jobEvents(subjobsPerJob)
		if open {
			evs = evs[:len(evs)-1]
		}
		resp, err := http.Post(v1+"/v1/events/batch", "application/json", bytes.NewReader(batchBody(evs))) //nolint:gosec // test URL on loopback
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/events/batch: %s", resp.Status)
		}
		for _, e := range evs {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// waitForKeys waits until every idempotency key has a row in the CSV event
// files.
func waitForKeys(t *testing.T, dataDir string, keys []string) {
	t.Helper()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	testcollector.WaitFor(t, 60*time.Second, fmt.Sprintf("%d events in the CSV files", len(keys)), func() bool {
		events, _ := readCSVOutput(t, dataDir, csvEvents)
		return len(absent(want, countColumn(events.rows, "idempotency_key"))) == 0
	})
}
