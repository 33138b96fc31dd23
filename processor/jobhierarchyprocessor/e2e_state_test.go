package jobhierarchyprocessor

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// e2eRestartConfig keeps the state in file_storage; the watchdog's limits
// are filled in per run.
const e2eRestartConfig = `
extensions:
  file_storage:
    directory: ./state
    create_directory: true
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
processors:
  jobhierarchy:
    check_interval: 100ms
    storage: file_storage
    watchdog:
      stall_timeout: %[2]s
      max_duration: %[3]s
exporters:
  file/logs:
    path: ./logs.jsonl
    flush_interval: 100ms
  file/traces:
    path: ./traces.jsonl
    flush_interval: 100ms
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [file/logs]
    traces:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [file/traces]
`

// TestEndToEndRestart: a job started before a stop of the collector (with
// file_storage) longer than its stall timeout still stalls and times out
// after the restart, but only once the time the collector was down is left
// out: no stalled event before stall_timeout of running since the restart,
// less the silence before the stop. The limits of the second run are
// derived from how long the first took on this machine, so a slow machine
// makes the test longer, not wrong.
func TestEndToEndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	port := testcollector.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	health := testcollector.Options{HealthURL: base + "/v1/health"}

	// First run: limits that cannot fire.
	began := time.Now()
	col := testcollector.Start(t, fmt.Sprintf(e2eRestartConfig, port, "1h", "1h"), health)
	startup := time.Since(began)
	const job = "f0000000-0000-4000-8000-000000000001"
	sent := time.Now()
	resp, err := http.Post(base+"/v1/event", "application/json", bytes.NewReader([]byte(v1Event("job", job, "", "lot-3", "", "started", "running", ""))))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	logsPath := filepath.Join(col.Dir, "logs.jsonl")
	testcollector.WaitFor(t, 30*time.Second, "the started event", func() bool {
		return findRecord(readRecords(t, logsPath), "wafer.job.started", job) != nil
	})
	col.Stop()
	// The job's silence before the stop is at most this.
	silentBefore := time.Since(sent)

	// The second run's limits: longer than anything the first run's pace
	// could make the restart take.
	stall := 3*time.Second + 2*(silentBefore+startup)
	maxDuration := stall + 2*time.Second
	// Down for longer than the stall timeout: the scenario is the downtime
	// itself, so the test waits it out.
	time.Sleep(stall + time.Second)

	health.Dir = col.Dir
	restarted := time.Now()
	col = testcollector.Start(t, fmt.Sprintf(e2eRestartConfig, port, stall, maxDuration), health)
	// The span and the record go to two files, each written on its own.
	var records []plog.LogRecord
	testcollector.WaitFor(t, stall+maxDuration+time.Minute, "the timeout span and record after the restart", func() bool {
		records = readRecords(t, logsPath)
		return findSpan(readSpans(t, filepath.Join(col.Dir, "traces.jsonl")), job) != nil && findRecord(records, "wafer.job.timeout", job) != nil
	})
	stalled := findRecord(records, "wafer.job.stalled", job)
	timeout := findRecord(records, "wafer.job.timeout", job)
	require.NotNil(t, stalled, "stalled after the restart")
	require.NotNil(t, timeout, "timed out after the restart")
	stalledAfter := stalled.Timestamp().AsTime().Sub(restarted)
	timeoutAfter := timeout.Timestamp().AsTime().Sub(restarted)
	t.Logf("FIGURES: first run silent %s before its stop; down %s; stall_timeout %s: stalled %s after the restart (at least %s); max_duration %s: timed out %s after it (at least %s)",
		silentBefore.Round(time.Millisecond), restarted.Sub(sent.Add(silentBefore)).Round(time.Millisecond), stall, stalledAfter.Round(time.Millisecond),
		(stall - silentBefore).Round(time.Millisecond), maxDuration, timeoutAfter.Round(time.Millisecond), (maxDuration - silentBefore).Round(time.Millisecond))
	assert.GreaterOrEqual(t, stalledAfter, stall-silentBefore, "the downtime counted as silence")
	assert.GreaterOrEqual(t, timeoutAfter, maxDuration-silentBefore, "the downtime counted towards max_duration")
}

// e2eBytesConfig: the processor with its state in file_storage, and
// exporters that write nothing to disk, so the collector's writes are the
// state's.
const e2eBytesConfig = `
extensions:
  file_storage:
    directory: ./state
    create_directory: true
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
    max_batch_events: 10000
processors:
  jobhierarchy:
    storage: file_storage
exporters:
  debug:
    verbosity: basic
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [debug]
    traces:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [debug]
`

// procIO is what /proc/PID/io says the process wrote: wchar, the bytes it
// passed to write calls, and write_bytes, what it caused to be written to
// disk (a page, or the large folio it is in, counted when it becomes dirty:
// with large folios it depends on how the kernel cached the file).
type procIO struct{ wchar, writeBytes int64 }

func readProcIO(t *testing.T, pid int) procIO {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	require.NoError(t, err)
	var io procIO
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		for prefix, dst := range map[string]*int64{"wchar: ": &io.wchar, "write_bytes: ": &io.writeBytes} {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				*dst = n
				found++
			}
		}
	}
	require.Equal(t, 2, found, "wchar and write_bytes in /proc/PID/io")
	return io
}

// TestCheckpointBytesPerEventEndToEnd: the collector holding 10,000 open
// jobs writes at most 2 KiB per event for its state (wchar of /proc/PID/io,
// what it passed to write calls, divided by the events; write_bytes, what
// reached the disk, is logged: with the kernel's large folios it counts
// whole folios and varies from run to run, 600-2,700 bytes an event at 50
// a second on one machine). First 10,000 jobs start and run
// subjobs, in batches of 1,000 events; then, the jobs open, 50 events a
// second (the rate at which the first storage format wrote 450 KB per
// event) for 30 seconds: subjobs starting and finishing. Both phases are
// checked, the second on its own. The first format writes about 90 KB per
// event in the second phase.
func TestCheckpointBytesPerEventEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	const (
		jobs          = 10000
		subjobsPerJob = 5
		perRequest    = 1000
		steadyRate    = 50
		steadySeconds = 30
		maxPerEvent   = 2048
	)
	port := testcollector.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	col := testcollector.Start(t, fmt.Sprintf(e2eBytesConfig, port), testcollector.Options{HealthURL: url + "/v1/health"})
	// settled waits until the state's last changes are written (at the next
	// check) and returns write_bytes then. The state is written in bbolt
	// pages (4 KiB); smaller writes are the Go runtime's (8 bytes to its
	// netpoller's eventfd, every 2-3 s) and do not count as the state's.
	settled := func() procIO {
		last, since := procIO{wchar: -1}, time.Now()
		testcollector.WaitFor(t, time.Minute, "the state's last write", func() bool {
			if n := readProcIO(t, col.PID()); last.wchar < 0 || n.wchar-last.wchar >= 4096 {
				last, since = n, time.Now()
				return false
			}
			return time.Since(since) >= 3*time.Second // three checks (check_interval 1s)
		})
		return readProcIO(t, col.PID())
	}
	start := readProcIO(t, col.PID())

	b := &v1Batches{t: t, url: url, perRequest: perRequest}
	send := b.send
	jobID := func(j int) string { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", j) }
	subjob := func(s, j int, kind string) string {
		status, metrics := "running", ""
		if kind == "finished" {
			status, metrics = "succeeded", `"cpu_user_s":1,"duration_s":10`
		}
		return v1Event("subjob", fmt.Sprintf("b1000000-0000-4000-%04d-%012d", s, j), jobID(j), "lot-9", fmt.Sprintf("wafer-%02d", s), kind, status, metrics)
	}
	for j := 0; j < jobs; j++ {
		send(v1Event("job", jobID(j), "", "lot-9", "", "started", "running", ""))
	}
	for s := 0; s < subjobsPerJob; s++ {
		for _, kind := range []string{"started", "finished"} {
			for j := 0; j < jobs; j++ {
				send(subjob(s, j, kind))
			}
		}
	}
	b.flush()
	loaded := settled()
	syscall.Sync()
	bulk, bulkDisk := float64(loaded.wchar-start.wchar)/float64(b.sent), float64(loaded.writeBytes-start.writeBytes)/float64(b.sent)

	// The steady phase: one request of 50 events a second, half of them
	// subjobs starting, half finishing.
	steadyEvents := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sec := 0; sec < steadySeconds; sec++ {
		for i := 0; i < steadyRate/2; i++ {
			j := sec*steadyRate/2 + i
			b.add(subjob(subjobsPerJob, j, "started"))
			if sec > 0 {
				b.add(subjob(subjobsPerJob, j-steadyRate/2, "finished"))
			}
		}
		steadyEvents += len(b.batch)
		b.flush()
		<-tick.C
		if sec%10 == 9 {
			// Dirty pages are written out every 10 seconds, as the kernel
			// does with pages dirty for 30 seconds, so that a page written
			// again counts again (write_bytes counts a page, or the large
			// folio it is in, when it becomes dirty).
			syscall.Sync()
		}
	}
	end := settled()
	steady, steadyDisk := float64(end.wchar-loaded.wchar)/float64(steadyEvents), float64(end.writeBytes-loaded.writeBytes)/float64(steadyEvents)
	t.Logf("FIGURES: %d open jobs; %d events in batches of %d: %.0f bytes written per event (%.0f to disk); then %d events at %d a second: %.0f bytes written per event (%.0f to disk) (bound %d written)",
		jobs, b.sent-steadyEvents, perRequest, bulk, bulkDisk, steadyEvents, steadyRate, steady, steadyDisk, maxPerEvent)
	assert.LessOrEqual(t, bulk, float64(maxPerEvent))
	assert.LessOrEqual(t, steady, float64(maxPerEvent))
}
