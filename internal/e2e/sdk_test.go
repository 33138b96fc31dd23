// Package e2e holds end-to-end tests that span modules: here, programs
// instrumented with the Go SDK against the real collector binary.
package e2e

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const sdkConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:%[1]d
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[2]d
  wafermonitor:
    endpoint: 127.0.0.1:%[3]d
processors:
  batch:
    timeout: 100ms
exporters:
  file/logs:
    path: ./out/logs.jsonl
    flush_interval: 100ms
  file/traces:
    path: ./out/traces.jsonl
    flush_interval: 100ms
  file/metrics:
    path: ./out/metrics.jsonl
    flush_interval: 100ms
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp, wafermonitor]
      processors: [batch]
      exporters: [file/logs]
    traces:
      receivers: [otlp, wafermonitor]
      processors: [batch]
      exporters: [file/traces]
    metrics:
      receivers: [otlp, wafermonitor]
      processors: [batch]
      exporters: [file/metrics]
`

// TestSDKEndToEnd runs the SDK's example program, a lot of four wafers of
// which the third fails, against the collector: over OTLP, and then over the
// v1 API as a site with only the old sidecar protocol would.
func TestSDKEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	healthPort, otlpPort, v1Port := testcollector.FreePort(t), testcollector.FreePort(t), testcollector.FreePort(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	testcollector.Start(t, fmt.Sprintf(sdkConfig, healthPort, otlpPort, v1Port),
		testcollector.Options{Dir: dir, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", healthPort)})
	lotrun := buildLotrun(t)

	t.Run("OTLP", func(t *testing.T) {
		prog := startLotrun(t, lotrun, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + fmt.Sprintf("http://127.0.0.1:%d", otlpPort)},
			"-lot", "lot-otlp", "-wafers", "4", "-fail", "3", "-work", "20ms", "-interactive")
		jobID := prog.jobID

		// The program waits on its standard input before the first wafer:
		// the job must be visible as running now.
		testcollector.WaitFor(t, 30*time.Second, "the job's started log record", func() bool {
			return len(findLogs(t, out, jobID, "wafer.job.started")) == 1
		})
		started := findLogs(t, out, jobID, "wafer.job.started")[0]
		if got := attr(started.Attributes(), semconv.AttrStatus); got != semconv.StatusRunning {
			t.Errorf("started record status %q, want running", got)
		}
		if spans := findSpans(t, out, jobID); len(spans) != 0 {
			t.Fatalf("%d spans of the job before it ended", len(spans))
		}
		prog.finish(t) // let the wafers run

		testcollector.WaitFor(t, 30*time.Second, "the job's five spans", func() bool {
			return len(findSpans(t, out, jobID)) == 5 && len(findLogs(t, out, jobID, "wafer.job.error")) == 1
		})
		checkTrace(t, findSpans(t, out, jobID), jobID, "lot-otlp", 4, 3)
		res := findSpans(t, out, jobID)[0].resource
		if attr(res, semconv.AttrServiceName) != "lotrun" || attr(res, semconv.AttrServiceVersion) != "0.1.0" || attr(res, semconv.AttrSiteID) != "fab-e2e" {
			t.Errorf("resource %v", res.AsRaw())
		}

		// Lifecycle records, in the trace of the job and the span of their entity.
		jobSpanID := ids.SpanID(mustUUID(t, jobID))
		for _, name := range []string{"wafer.job.started", "wafer.job.progress", "wafer.job.metric", "wafer.job.error"} {
			recs := findLogs(t, out, jobID, name)
			if len(recs) == 0 {
				t.Errorf("no %s record", name)
				continue
			}
			r := recs[0]
			if r.TraceID() != pcommon.TraceID(mustUUID(t, jobID)) || r.SpanID() != pcommon.SpanID(jobSpanID) {
				t.Errorf("%s record in trace %s span %s", name, r.TraceID(), r.SpanID())
			}
		}
		if n := len(findLogs(t, out, jobID, "wafer.job.progress")); n != 4 {
			t.Errorf("%d job progress records, want 4", n)
		}
		failed := findSubjobLogs(t, out, jobID, "wafer.subjob.error")
		if len(failed) != 1 || attr(failed[0].Attributes(), semconv.AttrSubKey) != "wafer-03" ||
			failed[0].SeverityNumber() != plog.SeverityNumberError ||
			attr(failed[0].Attributes(), semconv.AttrErrorMessage) != "chuck vacuum lost" {
			t.Errorf("subjob error records: %d", len(failed))
		}
		if n := len(findSubjobLogs(t, out, jobID, "wafer.subjob.finished")); n != 3 {
			t.Errorf("%d subjob finished records, want 3", n)
		}
	})

	t.Run("v1", func(t *testing.T) {
		prog := startLotrun(t, lotrun, []string{"SIDECAR_URL=" + fmt.Sprintf("http://127.0.0.1:%d", v1Port)},
			"-lot", "lot-v1", "-wafers", "3", "-fail", "2", "-work", "5ms")
		prog.finish(t)
		testcollector.WaitFor(t, 30*time.Second, "the receiver's four spans", func() bool {
			return len(findSpans(t, out, prog.jobID)) == 4
		})
		// The receiver made these spans from v1 events; the IDs are the
		// same as the SDK's own spans would have.
		checkTrace(t, findSpans(t, out, prog.jobID), prog.jobID, "lot-v1", 3, 2)
	})
}

func buildLotrun(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	sdkDir := filepath.Join(filepath.Dir(file), "..", "..", "sdk")
	bin := filepath.Join(t.TempDir(), "lotrun")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/lotrun")
	cmd.Dir = sdkDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/lotrun: %v\n%s", err, msg)
	}
	return bin
}

type lotrunProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output *strings.Builder
	done   chan error
	jobID  string
}

// startLotrun runs the program with a clean OpenTelemetry environment plus
// env, and waits for it to print its job ID.
func startLotrun(t *testing.T, bin string, env []string, args ...string) *lotrunProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "SIDECAR_URL=") && !strings.HasPrefix(kv, "SITE_ID=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SITE_ID=fab-e2e", "OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_BLRP_SCHEDULE_DELAY=100", "OTEL_METRIC_EXPORT_INTERVAL=200")
	cmd.Env = append(cmd.Env, env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &lotrunProcess{cmd: cmd, stdin: stdin, output: &strings.Builder{}, done: make(chan error, 1)}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		_ = cmd.Process.Kill()
		t.Fatalf("lotrun printed nothing: %s", stderr.String())
	}
	first := lines.Text()
	fields := strings.Fields(first)
	if len(fields) < 3 || fields[0] != "job" || fields[2] != "started" {
		_ = cmd.Process.Kill()
		t.Fatalf("lotrun's first line %q", first)
	}
	p.jobID = fields[1]
	p.output.WriteString(first + "\n")
	go func() {
		for lines.Scan() {
			p.output.WriteString(lines.Text() + "\n")
		}
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, stderr.String())
		}
		p.done <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	return p
}

// finish closes the program's input, which lets every wafer run, and waits
// for it to exit.
func (p *lotrunProcess) finish(t *testing.T) {
	t.Helper()
	_ = p.stdin.Close()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("lotrun: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("lotrun did not finish")
	}
}

type foundSpan struct {
	span     ptrace.Span
	resource pcommon.Map
}

func findSpans(t *testing.T, dir, jobID string) []foundSpan {
	t.Helper()
	traceID := pcommon.TraceID(mustUUID(t, jobID))
	var found []foundSpan
	for _, line := range testcollector.ReadJSONLines(t, filepath.Join(dir, "traces.jsonl")) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					if spans.At(k).TraceID() == traceID {
						found = append(found, foundSpan{spans.At(k), rs.Resource().Attributes()})
					}
				}
			}
		}
	}
	return found
}

// checkTrace checks a job's trace: one job span and n subjob spans under it,
// with the IDs of the shared mapping, and the subjob number failedWafer failed.
func checkTrace(t *testing.T, spans []foundSpan, jobID, lot string, n, failedWafer int) {
	t.Helper()
	jobUUID := mustUUID(t, jobID)
	jobSpanID := pcommon.SpanID(ids.SpanID(jobUUID))
	var subjobs int
	for _, fs := range spans {
		s := fs.span
		a := s.Attributes()
		switch attr(a, semconv.AttrEntityType) {
		case semconv.EntityTypeJob:
			if s.SpanID() != jobSpanID || !s.ParentSpanID().IsEmpty() {
				t.Errorf("job span %s parent %s, want %s and none", s.SpanID(), s.ParentSpanID(), jobSpanID)
			}
			if s.Name() != "job "+lot || attr(a, semconv.AttrStatus) != semconv.StatusFailed ||
				s.Status().Code() != ptrace.StatusCodeError || attr(a, semconv.AttrBusinessKey) != lot {
				t.Errorf("job span %q status %q/%v", s.Name(), attr(a, semconv.AttrStatus), s.Status().Code())
			}
		case semconv.EntityTypeSubjob:
			subjobs++
			subUUID := mustUUID(t, attr(a, semconv.AttrEntityID))
			if s.SpanID() != pcommon.SpanID(ids.SpanID(subUUID)) || s.ParentSpanID() != jobSpanID {
				t.Errorf("subjob span %s parent %s, want %x under %s", s.SpanID(), s.ParentSpanID(), ids.SpanID(subUUID), jobSpanID)
			}
			if attr(a, semconv.AttrParentID) != jobID {
				t.Errorf("subjob parent id %q", attr(a, semconv.AttrParentID))
			}
			want := semconv.StatusSucceeded
			if attr(a, semconv.AttrSubKey) == fmt.Sprintf("wafer-%02d", failedWafer) {
				want = semconv.StatusFailed
			}
			if got := attr(a, semconv.AttrStatus); got != want {
				t.Errorf("%s: status %q, want %q", s.Name(), got, want)
			}
			for _, key := range []string{semconv.AttrDurationS, semconv.AttrCPUUserS, semconv.AttrCPUSystemS, semconv.AttrMemMaxMB} {
				if _, ok := a.Get(key); !ok {
					t.Errorf("%s: no %s", s.Name(), key)
				}
			}
		default:
			t.Errorf("span %q without an entity type", s.Name())
		}
	}
	if subjobs != n {
		t.Errorf("%d subjob spans, want %d", subjobs, n)
	}
}

func findLogs(t *testing.T, dir, entityID, eventName string) []plog.LogRecord {
	t.Helper()
	return filterLogs(t, dir, func(r plog.LogRecord) bool {
		return r.EventName() == eventName && attr(r.Attributes(), semconv.AttrEntityID) == entityID
	})
}

func findSubjobLogs(t *testing.T, dir, jobID, eventName string) []plog.LogRecord {
	t.Helper()
	return filterLogs(t, dir, func(r plog.LogRecord) bool {
		return r.EventName() == eventName && attr(r.Attributes(), semconv.AttrParentID) == jobID
	})
}

func filterLogs(t *testing.T, dir string, keep func(plog.LogRecord) bool) []plog.LogRecord {
	t.Helper()
	var found []plog.LogRecord
	for _, line := range testcollector.ReadJSONLines(t, filepath.Join(dir, "logs.jsonl")) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				recs := sls.At(j).LogRecords()
				for k := 0; k < recs.Len(); k++ {
					if keep(recs.At(k)) {
						found = append(found, recs.At(k))
					}
				}
			}
		}
	}
	return found
}

func attr(m pcommon.Map, key string) string {
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

func mustUUID(t *testing.T, s string) [16]byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("%q is not a UUID", s)
	}
	return [16]byte(b)
}
