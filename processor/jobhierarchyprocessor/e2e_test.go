package jobhierarchyprocessor

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The processor in the default pipeline shape, with a watchdog that gives
// up within seconds.
const e2eConfig = `
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 256
  jobhierarchy:
    check_interval: 100ms
    watchdog:
      stall_timeout: 1s
      max_duration: 2500ms
      rules:
        # The job that finishes must not stall, however slow the machine.
        - business_key: lot-1
          stall_timeout: 1h
          max_duration: 1h
  batch:
    timeout: 100ms
exporters:
  file/logs:
    path: ./logs.jsonl
    flush_interval: 100ms
  file/traces:
    path: ./traces.jsonl
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [memory_limiter, jobhierarchy, batch]
      exporters: [file/logs]
    traces:
      receivers: [wafermonitor]
      processors: [memory_limiter, jobhierarchy, batch]
      exporters: [file/traces]
`

// v1Event is one event of the v1 API, as the Python client sends it.
func v1Event(typ, id, parent, bk, sk, kind, status string, metrics string) string {
	parentJSON := "null"
	if parent != "" {
		parentJSON = `"` + parent + `"`
	}
	skJSON := "null"
	if sk != "" {
		skJSON = `"` + sk + `"`
	}
	return fmt.Sprintf(`{"site_id":"fab1","app":{"name":"litho-scheduler","version":"1.4.2"},`+
		`"entity":{"type":%q,"id":%q,"parent_id":%s,"business_key":%q,"sub_key":%s},`+
		`"event":{"kind":%q,"at":%q,"metrics":{%s},"status":%q,"metadata":{}}}`,
		typ, id, parentJSON, bk, skJSON, kind, time.Now().UTC().Format(time.RFC3339Nano), metrics, status)
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	port := testcollector.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	col := testcollector.Start(t, fmt.Sprintf(e2eConfig, port), testcollector.Options{HealthURL: base + "/v1/health"})
	post := func(events ...string) {
		t.Helper()
		body := "[" + events[0]
		for _, e := range events[1:] {
			body += "," + e
		}
		body += "]"
		resp, err := http.Post(base+"/v1/events/batch", "application/json", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}

	const (
		doneJob  = "d0000000-0000-4000-8000-000000000001"
		doneOK   = "d0000000-0000-4000-8000-000000000002"
		doneFail = "d0000000-0000-4000-8000-000000000003"
		silent   = "e0000000-0000-4000-8000-000000000001"
	)
	// A job whose second subjob fails; subjobs and job in separate requests.
	post(v1Event("job", doneJob, "", "lot-1", "", "started", "running", ""),
		v1Event("subjob", doneOK, doneJob, "lot-1", "wafer-01", "started", "running", ""))
	post(v1Event("subjob", doneOK, doneJob, "lot-1", "wafer-01", "finished", "succeeded", `"duration_s":12,"cpu_user_s":1.5,"mem_max_mb":300`),
		v1Event("subjob", doneFail, doneJob, "lot-1", "wafer-02", "error", "failed", `"duration_s":3,"cpu_user_s":0.5,"mem_max_mb":500`))
	post(v1Event("job", doneJob, "", "lot-1", "", "finished", "succeeded", `"duration_s":20`))
	// A job that starts and goes silent.
	post(v1Event("job", silent, "", "lot-2", "", "started", "running", ""))

	logsPath, tracesPath := filepath.Join(col.Dir, "logs.jsonl"), filepath.Join(col.Dir, "traces.jsonl")
	var records []plog.LogRecord
	var spans []ptrace.Span
	testcollector.WaitFor(t, 30*time.Second, "the stalled and timeout events and the timeout span", func() bool {
		records = readRecords(t, logsPath)
		spans = readSpans(t, tracesPath)
		return findRecord(records, "wafer.job.timeout", silent) != nil && findSpan(spans, silent) != nil
	})

	// The rolled-up job span.
	job := findSpan(spans, doneJob)
	require.NotNil(t, job)
	attrs := job.Attributes().AsRaw()
	assert.Equal(t, int64(2), attrs[semconv.AttrSubjobsTotal])
	assert.Equal(t, int64(1), attrs[semconv.AttrSubjobsSucceeded])
	assert.Equal(t, int64(1), attrs[semconv.AttrSubjobsFailed])
	assert.Equal(t, 2.0, attrs[semconv.AttrJobCPUUserSum])
	assert.Equal(t, 500.0, attrs[semconv.AttrJobMemMaxMBMax])
	assert.Equal(t, 3.0, attrs[semconv.AttrJobSubjobDurationMin])
	assert.Equal(t, 12.0, attrs[semconv.AttrJobSubjobDurationMax])
	assert.Equal(t, 15.0, attrs[semconv.AttrJobSubjobDurationSum])
	assert.Equal(t, semconv.OutcomeFailure, attrs[semconv.AttrJobOutcome])
	assert.Equal(t, ptrace.StatusCodeError, job.Status().Code())
	assert.Equal(t, "1 of 2 subjobs failed", job.Status().Message())

	// The silent job: stalled, then given up with an error span.
	stalled := findRecord(records, "wafer.job.stalled", silent)
	require.NotNil(t, stalled, "stalled event")
	assert.Equal(t, semconv.KindStalled, stalled.Attributes().AsRaw()[semconv.AttrEventKind])
	timeout := findRecord(records, "wafer.job.timeout", silent)
	assert.Equal(t, semconv.OutcomeTimeout, timeout.Attributes().AsRaw()[semconv.AttrOutcome])
	assert.Equal(t, plog.SeverityNumberError, timeout.SeverityNumber())
	span := findSpan(spans, silent)
	assert.Equal(t, ptrace.StatusCodeError, span.Status().Code())
	assert.Equal(t, semconv.StatusTimedOut, span.Attributes().AsRaw()[semconv.AttrStatus])
	assert.Equal(t, "job lot-2", span.Name())
	assert.Equal(t, stalled.TraceID(), span.TraceID(), "event and span land in the job's trace")

	// The finished job was never stalled.
	assert.Nil(t, findRecord(records, "wafer.job.stalled", doneJob))
}

func readRecords(t *testing.T, path string) []plog.LogRecord {
	var out []plog.LogRecord
	var u plog.JSONUnmarshaler
	for _, line := range testcollector.ReadJSONLines(t, path) {
		ld, err := u.UnmarshalLogs(line)
		require.NoError(t, err)
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					out = append(out, sls.At(j).LogRecords().At(k))
				}
			}
		}
	}
	return out
}

func readSpans(t *testing.T, path string) []ptrace.Span {
	var out []ptrace.Span
	var u ptrace.JSONUnmarshaler
	for _, line := range testcollector.ReadJSONLines(t, path) {
		td, err := u.UnmarshalTraces(line)
		require.NoError(t, err)
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					out = append(out, sss.At(j).Spans().At(k))
				}
			}
		}
	}
	return out
}

func findRecord(records []plog.LogRecord, eventName, id string) *plog.LogRecord {
	for i := range records {
		v, _ := records[i].Attributes().Get(semconv.AttrEntityID)
		if records[i].EventName() == eventName && v.Str() == id {
			return &records[i]
		}
	}
	return nil
}

func findSpan(spans []ptrace.Span, id string) *ptrace.Span {
	for i := range spans {
		if v, ok := spans[i].Attributes().Get(semconv.AttrEntityID); ok && v.Str() == id {
			return &spans[i]
		}
	}
	return nil
}
