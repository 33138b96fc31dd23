package faulttest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// mountTmpfs mounts a tmpfs of the given size at dir and unmounts it at the
// end of the test. It skips the test when mounting is not allowed (not root).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs for the queue needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

func resizeTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", dir, err, out)
	}
}

// TestDiskFull: the queue's disk fills up while the backend is down. The
// receiver answers 503 with Retry-After (never 400 or 500), the collector
// keeps running, and once space returns and the backend is back every
// accepted event arrives.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t) // down
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	queue := filepath.Join(dir, "queue")
	if err := os.MkdirAll(queue, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, queue, "2m")
	col := testcollector.Start(t, webhookConfig(port, queue, sink.url()), testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})

	c := newClient(recv, "disk")
	stop := make(chan struct{})
	wg := c.steady(50, 10*time.Millisecond, stop)
	testcollector.WaitFor(t, 60*time.Second, "a 503 once the disk is full", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.statuses[http.StatusServiceUnavailable] >= 20
	})
	acceptedWhenFull := len(c.acceptedKeys())
	if col.Exited() {
		t.Fatal("the collector exited when the disk filled up")
	}
	resizeTmpfs(t, queue, "256m")
	sink.up()
	// Space is back: the load is taken again, 500 more events.
	testcollector.WaitFor(t, 30*time.Second, "500 more events accepted once space returned", func() bool {
		return len(c.acceptedKeys()) >= acceptedWhenFull+500
	})
	close(stop)
	wg.Wait()
	waitDelivered(t, c, sink)
	if col.Exited() {
		t.Error("the collector exited")
	}
	c.mu.Lock()
	bad := c.statuses[http.StatusBadRequest] + c.statuses[http.StatusInternalServerError]
	noHdr := c.noRetryHdr
	c.mu.Unlock()
	if bad > 0 {
		t.Errorf("%d answers were 400 or 500; a full disk must answer 503", bad)
	}
	if noHdr > 0 {
		t.Errorf("%d answers 503 came without Retry-After", noHdr)
	}
	f, lost := c.tally(sink.deliveries())
	report(t, f, lost, fmt.Sprintf("(queue on a 2 MiB tmpfs, full after %d accepted; answers=%v; queue files: %s)",
		acceptedWhenFull, c.statuses, queueFiles(queue)))
}

// healthDetail is the v1 health answer with what it tells of the queues.
type healthDetail struct {
	healthAnswer
	SpoolCount          int64  `json:"spool_count"`
	SpoolDir            string `json:"spool_dir"`
	RecoveringExporters []struct {
		Exporter string `json:"exporter"`
		Queued   int64  `json:"queued"`
		Backlog  int64  `json:"backlog"`
	} `json:"recovering_exporters"`
}

func healthDetails(t *testing.T, recv string) healthDetail {
	t.Helper()
	var h healthDetail
	if code, err := getJSON(recv+"/v1/health", &h); err != nil || code != http.StatusOK {
		t.Fatalf("health: %d %v", code, err)
	}
	return h
}

// TestDefaultConfigHealthThroughFullDisk runs otelcol-config.yaml with its
// CSV files on a 2 MiB tmpfs and its queue on a tmpfs of its own. The CSV
// disk fills up: the health answer is degraded (the csv exporter failing)
// and its spool_count grows with every event accepted meanwhile. Space
// comes back: it is recovering while the csv exporter writes the backlog,
// then ok with spool_count 0 and every accepted event in the CSV files —
// never ok while an accepted event is not written.
func TestDefaultConfigHealthThroughFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	data := filepath.Join(t.TempDir(), "data")
	queue := filepath.Join(data, "queue")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, data, "2m")
	if err := os.Mkdir(queue, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, queue, "256m")
	config := testcollector.DefaultConfig(t)
	env, ports := testcollector.DefaultConfigEnv(t, config, data)
	recv := "http://127.0.0.1:" + strconv.Itoa(ports["WAFERMONITOR_V1_ENDPOINT"])
	col := testcollector.Start(t, config, testcollector.Options{Env: env, HealthURL: recv + "/v1/health"})

	c := newClient(recv, "fulldisk")
	if code := c.post(c.makeEvents(100)); code != http.StatusOK {
		t.Fatalf("first events: %d", code)
	}
	testcollector.WaitFor(t, 30*time.Second, "health ok with an empty spool", func() bool {
		h := healthDetails(t, recv)
		return h.Status == "ok" && h.SpoolCount == 0
	})
	if h := healthDetails(t, recv); h.SpoolDir != queue {
		t.Errorf("spool_dir %q, want %q", h.SpoolDir, queue)
	}

	// Fill the CSV disk.
	testcollector.WaitFor(t, 60*time.Second, "health degraded by the full CSV disk", func() bool {
		if code := c.post(c.makeEvents(500)); code != http.StatusOK {
			t.Fatalf("an event refused while only the CSV disk is full: %d", code)
		}
		h := healthDetails(t, recv)
		return h.Status == "degraded" && len(h.FailingExporters) > 0
	})
	h := healthDetails(t, recv)
	if len(h.FailingExporters) != 1 || h.FailingExporters[0].Exporter != "csv (logs)" ||
		!strings.Contains(h.FailingExporters[0].Error, "no space left on device") {
		t.Errorf("failing exporters: %+v, want csv (logs) with no space left on device", h.FailingExporters)
	}
	atFull := h.SpoolCount
	const duringOutage = 40000
	for range duringOutage / 500 {
		if code := c.post(c.makeEvents(500)); code != http.StatusOK {
			t.Fatalf("an event refused while the CSV disk is full: %d", code)
		}
	}
	h = healthDetails(t, recv)
	if h.Status != "degraded" || h.SpoolCount < atFull+duringOutage {
		t.Errorf("after %d more events: status %q, spool_count %d, want degraded and at least %d", duringOutage, h.Status, h.SpoolCount, atFull+duringOutage)
	}
	backlog := h.SpoolCount

	// Space comes back.
	resizeTmpfs(t, data, "512m")
	back := time.Now()
	var seen []string
	var recovering int
	var recoveringAt, okAt time.Time
	for deadline := back.Add(120 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatalf("health not ok 120s after the disk came back: seen %v, last %+v", seen, h)
		}
		h = healthDetails(t, recv)
		if len(seen) == 0 || seen[len(seen)-1] != h.Status {
			seen = append(seen, h.Status)
		}
		if h.Status == "recovering" {
			if recovering == 0 {
				recoveringAt = time.Now()
			}
			recovering++
			if len(h.RecoveringExporters) != 1 || h.RecoveringExporters[0].Exporter != "csv (logs)" || h.RecoveringExporters[0].Queued <= 0 || h.SpoolCount <= 0 {
				t.Errorf("recovering: %+v, spool_count %d; want csv (logs) with items queued", h.RecoveringExporters, h.SpoolCount)
			}
		}
		if h.Status == "ok" {
			okAt = time.Now()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h.SpoolCount != 0 {
		t.Errorf("health ok with spool_count %d: the backlog is not written", h.SpoolCount)
	}
	missing := missingRows(t, data, c.acceptedKeys())
	if len(missing) > 0 {
		t.Errorf("health ok while %d accepted events are not in the CSV files, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if !slices.Equal(seen, []string{"degraded", "recovering", "ok"}) {
		t.Errorf("health went %v after the disk came back, want degraded, recovering, ok", seen)
	}
	if col.Exited() {
		t.Error("the collector exited")
	}
	var degradedFor, recoveringFor time.Duration
	if !recoveringAt.IsZero() {
		degradedFor, recoveringFor = recoveringAt.Sub(back), okAt.Sub(recoveringAt)
	}
	fmt.Printf("FAULTTEST %s: spool_count %d when the disk filled, %d after %d more events (all accepted); "+
		"disk back: degraded for %s more, recovering for %s (%d answers), then ok with spool_count %d and all %d accepted events in the CSV files (%d missing)\n",
		t.Name(), atFull, backlog, duringOutage, degradedFor.Round(time.Millisecond), recoveringFor.Round(time.Millisecond),
		recovering, h.SpoolCount, len(c.acceptedKeys()), len(missing))
}

// missingRows returns the keys that have no row in the CSV event files of
// dir.
func missingRows(t *testing.T, dir string, keys map[string]bool) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "wafer_events_*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // the test's own file
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord, r.LazyQuotes = -1, true
		header, err := r.Read()
		column := slices.Index(header, "idempotency_key")
		if err != nil || column < 0 {
			t.Fatalf("%s: no idempotency_key column in %v (%v)", f, header, err)
		}
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil && column < len(rec) {
				found[rec[column]] = true
			}
		}
	}
	var missing []string
	for k := range keys {
		if !found[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	return missing
}
