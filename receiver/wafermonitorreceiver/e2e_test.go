package wafermonitorreceiver

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const e2eConfig = `
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
processors:
  batch:
    timeout: 200ms
exporters:
  file/logs:
    path: ./logs.jsonl
    flush_interval: 100ms
  file/traces:
    path: ./traces.jsonl
    flush_interval: 100ms
  file/metrics:
    path: ./metrics.jsonl
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [batch]
      exporters: [file/logs]
    traces:
      receivers: [wafermonitor]
      processors: [batch]
      exporters: [file/traces]
    metrics:
      receivers: [wafermonitor]
      processors: [batch]
      exporters: [file/metrics]
`

// TestEndToEnd runs the real otelcol-wafermonitor binary, sends every client
// sample over HTTP and checks the answers and what the collector wrote out.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	port := testcollector.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	col := testcollector.Start(t, fmt.Sprintf(e2eConfig, port), testcollector.Options{HealthURL: base + "/v1/health"})

	post := func(path string, body []byte, header map[string]string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var answer map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
		return resp.StatusCode, answer
	}

	// Single events, each on another of the clients' paths.
	singles := []string{"python-started.json", "python-subjob-finished.json", "python-job-failed.json", "c-flat.json", "java-camel.json", "r-flat.json"}
	for i, f := range singles {
		code, answer := post(singlePaths[i%len(singlePaths)], readSample(t, f), nil)
		require.Equal(t, http.StatusOK, code, f)
		assert.Equal(t, 1.0, answer["accepted"], f)
	}
	// Gzip, with a content type the old Perl client sends.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(readSample(t, "business-app-nested-no-key.json"))
	require.NoError(t, zw.Close())
	code, answer := post("/v1/event", gz.Bytes(), map[string]string{"Content-Encoding": "gzip", "Content-Type": "text/plain"})
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1.0, answer["accepted"])
	// Both batch shapes.
	code, answer = post("/v1/ingest/events:batch", readSample(t, "python-batch-array.json"), nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]any{"ok": true, "total": 3.0, "accepted": 3.0, "duplicates": 0.0, "spooled": 3.0}, answer)
	code, answer = post("/v1/ingest/batch", readSample(t, "sdk03-batch-object.json"), nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1.0, answer["accepted"])
	// A duplicate.
	code, answer = post("/v1/events/batch", readSample(t, "python-job-failed.json"), nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1.0, answer["duplicates"])
	// Bad ones.
	code, answer = post("/v1/event", []byte(`{"site_id": `), nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, fmt.Sprint(answer["detail"]), "json_invalid")
	code, _ = post("/v1/ingest/batch", []byte(`[{"site_id":"fab1"}]`), nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)

	const wantEvents, wantSpans = 11, 6
	out := col.Dir
	testcollector.WaitFor(t, 30*time.Second, "all events and spans written", func() bool {
		return countLogs(t, filepath.Join(out, "logs.jsonl")) >= wantEvents && countSpans(t, filepath.Join(out, "traces.jsonl")) >= wantSpans
	})
	col.Stop()
	require.Equal(t, wantEvents, countLogs(t, filepath.Join(out, "logs.jsonl")), "each accepted event exactly once")

	spans := map[string]ptrace.Span{} // by entity id
	for _, line := range testcollector.ReadJSONLines(t, filepath.Join(out, "traces.jsonl")) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		require.NoError(t, err)
		eachSpan(td, func(s ptrace.Span) {
			id, _ := s.Attributes().Get(semconv.AttrEntityID)
			spans[id.Str()] = s
		})
	}
	require.Len(t, spans, wantSpans)
	job := spans["a1b2c3d4-e5f6-4789-8abc-def012345678"]
	sub := spans["c3a9e1f0-1234-4abc-9def-0123456789ab"]
	assert.Equal(t, "a1b2c3d4e5f647898abcdef012345678", job.TraceID().String(), "trace ID is the job UUID")
	assert.Equal(t, job.TraceID(), sub.TraceID())
	assert.Equal(t, job.SpanID(), sub.ParentSpanID(), "subjob span is a child of its job's span")
	assert.Equal(t, ptrace.StatusCodeError, job.Status().Code())
	canceled := spans["33333333-3333-4333-8333-333333333333"]
	assert.Equal(t, "33333333333343338333333333333333", canceled.TraceID().String())
	assert.Equal(t, 1200*time.Second, canceled.EndTimestamp().AsTime().Sub(canceled.StartTimestamp().AsTime()))
	nested := spans["abababab-abab-4bab-8bab-abababababab"]
	assert.Equal(t, "cdcdcdcdcdcd4dcd8dcdcdcdcdcdcdcd", nested.TraceID().String(), "parent from metadata.parent_job_id")

	var completed int64
	for _, line := range testcollector.ReadJSONLines(t, filepath.Join(out, "metrics.jsonl")) {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
		require.NoError(t, err)
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			ms := rms.At(i).ScopeMetrics().At(0).Metrics()
			for j := 0; j < ms.Len(); j++ {
				m := ms.At(j)
				if m.Name() == semconv.MetricEntityCompleted {
					for k := 0; k < m.Sum().DataPoints().Len(); k++ {
						completed = max(completed, m.Sum().DataPoints().At(k).IntValue())
					}
				}
			}
		}
	}
	assert.Positive(t, completed, "completed counts exported")
	assert.False(t, strings.Contains(col.Output(), "panic"), "no panic in the collector's output")
}

func countLogs(t *testing.T, path string) int {
	n := 0
	for _, line := range testcollector.ReadJSONLines(t, path) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		require.NoError(t, err)
		n += ld.LogRecordCount()
	}
	return n
}

func countSpans(t *testing.T, path string) int {
	n := 0
	for _, line := range testcollector.ReadJSONLines(t, path) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		require.NoError(t, err)
		n += td.SpanCount()
	}
	return n
}

func eachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rs := td.ResourceSpans()
	for i := 0; i < rs.Len(); i++ {
		ss := rs.At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			spans := ss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}
