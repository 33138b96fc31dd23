package webhookexporter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadatatest"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// validSamples are the v1 sample bodies the receiver accepts.
var validSamples = []string{
	"business-app-nested-no-key.json", "c-flat.json", "java-camel.json", "python-batch-array.json",
	"python-job-failed.json", "python-started.json", "python-subjob-finished.json", "r-flat.json",
	"sdk03-batch-object.json",
}

// flattenLogs renders every log record with its resource as one canonical
// JSON string, sorted, so that logs grouped differently compare equal.
// The observed timestamp (receive time) and the client's original entity
// type name (which the v1 event has no field for) are left out.
func flattenLogs(t *testing.T, logs plog.Logs) []string {
	t.Helper()
	var out []string
	for _, rl := range logs.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				attrs := pcommon.NewMap()
				lr.Attributes().CopyTo(attrs)
				attrs.Remove(semconv.AttrEntityTypeOriginal)
				b, err := json.Marshal(map[string]any{
					"resource":  rl.Resource().Attributes().AsRaw(),
					"attrs":     attrs.AsRaw(),
					"time":      lr.Timestamp().String(),
					"event":     lr.EventName(),
					"trace":     lr.TraceID().String(),
					"span":      lr.SpanID().String(),
					"severity":  lr.SeverityText(),
					"body":      lr.Body().AsString(),
					"scopeName": sl.Scope().Name(),
				})
				require.NoError(t, err)
				out = append(out, string(b))
			}
		}
	}
	slices.Sort(out)
	return out
}

func mergeLogs(all []plog.Logs) plog.Logs {
	out := plog.NewLogs()
	for _, l := range all {
		l.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

// TestV1RoundTrip sends the events of every sample, as the receiver turned
// them into log records, to a second real wafermonitor receiver in the old
// Local API's paths, single and batched: the second receiver must make the
// same log records of them.
func TestV1RoundTrip(t *testing.T) {
	logs, _ := sampleSignals(t, validSamples...)
	want := flattenLogs(t, logs)
	require.Len(t, want, 11)

	for _, tc := range []struct {
		name, mode, envelope, path string
		requests                   int
	}{
		{"single", ModeSingle, EnvelopeArray, "/v1/ingest/events", 11},
		{"batch-array", ModeBatch, EnvelopeArray, "/v1/ingest/events:batch", 3},
		{"batch-object", ModeBatch, EnvelopeObject, "/v1/ingest/batch", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := startWaferReceiver(t)
			cfg := configFor(second.endpoint + tc.path)
			cfg.Mode = tc.mode
			cfg.BatchEnvelope = tc.envelope
			cfg.MaxBatchEvents = 4
			e := startExporter(t, cfg)
			require.NoError(t, e.pushLogs(t.Context(), logs))
			assert.Equal(t, want, flattenLogs(t, mergeLogs(second.logs.AllLogs())))
			assert.Len(t, second.logs.AllLogs(), tc.requests)
		})
	}
}

// TestV1EventFields checks the five-key event field by field against the
// sample the client sent.
func TestV1EventFields(t *testing.T) {
	logs, _ := sampleSignals(t, "python-subjob-finished.json")
	rec := newRecorder(t, nil)
	e := startExporter(t, configFor(rec.URL+"/v1/ingest/events"))
	require.NoError(t, e.pushLogs(t.Context(), logs))

	reqs := rec.received()
	require.Len(t, reqs, 1)
	sent, err := os.ReadFile(filepath.Join(samplesDir, "python-subjob-finished.json"))
	require.NoError(t, err)
	var want, got map[string]any
	require.NoError(t, json.Unmarshal(sent, &want))
	require.NoError(t, json.Unmarshal(reqs[0].body, &got))
	// The sample's time has an offset and microseconds; the exporter writes UTC.
	wantAt, err := time.Parse(time.RFC3339Nano, want["event"].(map[string]any)["at"].(string))
	require.NoError(t, err)
	gotAt, err := time.Parse(time.RFC3339Nano, got["event"].(map[string]any)["at"].(string))
	require.NoError(t, err)
	assert.True(t, wantAt.Equal(gotAt), "at: want %s, got %s", wantAt, gotAt)
	want["event"].(map[string]any)["at"] = nil
	got["event"].(map[string]any)["at"] = nil
	assert.Equal(t, want, got)
	assert.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
	assert.Equal(t, want["idempotency_key"], reqs[0].header.Get("Idempotency-Key"))
}

func TestCloudEvents(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json")

	t.Run("structured", func(t *testing.T) {
		reqs := sendLogs(t, logs, func(cfg *Config) {
			cfg.Format = FormatCloudEvents
		})
		require.Len(t, reqs, 3)
		var types []string
		for _, r := range reqs {
			assert.Equal(t, "application/cloudevents+json", r.header.Get("Content-Type"))
			var ce map[string]any
			require.NoError(t, json.Unmarshal(r.body, &ce))
			assert.Equal(t, "1.0", ce["specversion"])
			assert.Equal(t, "/wafermonitor", ce["source"])
			assert.Equal(t, "33333333-3333-4333-8333-333333333333", ce["subject"])
			assert.Equal(t, "fab2", ce["wafersite"])
			assert.Equal(t, "application/json", ce["datacontenttype"])
			assert.Regexp(t, `^00-33333333333343338333333333333333-[0-9a-f]{16}-01$`, ce["traceparent"])
			data := ce["data"].(map[string]any)
			assert.Equal(t, ce["id"], data["idempotency_key"])
			assert.Equal(t, ce["id"], r.header.Get("Idempotency-Key"))
			types = append(types, ce["type"].(string))
		}
		assert.Equal(t, []string{"com.wafermonitor.job.started", "com.wafermonitor.job.progress", "com.wafermonitor.job.canceled"}, types)
	})

	t.Run("batch", func(t *testing.T) {
		reqs := sendLogs(t, logs, func(cfg *Config) {
			cfg.Format = FormatCloudEvents
			cfg.Mode = ModeBatch
			cfg.BatchEnvelope = EnvelopeObject // ignored: a CloudEvents batch is an array
		})
		require.Len(t, reqs, 1)
		assert.Equal(t, "application/cloudevents-batch+json", reqs[0].header.Get("Content-Type"))
		var batch []map[string]any
		require.NoError(t, json.Unmarshal(reqs[0].body, &batch))
		require.Len(t, batch, 3)
		assert.Equal(t, "com.wafermonitor.job.canceled", batch[2]["type"])
		assert.Equal(t, "cancellation", batch[2]["waferoutcome"])
		assert.Regexp(t, `^batch:[0-9a-f]{32}$`, reqs[0].header.Get("Idempotency-Key"))
	})

	t.Run("finished entities", func(t *testing.T) {
		_, traces := sampleSignals(t, "python-subjob-finished.json")
		reqs := sendTraces(t, traces, func(cfg *Config) {
			cfg.Format = FormatCloudEvents
		})
		require.Len(t, reqs, 1)
		var ce map[string]any
		require.NoError(t, json.Unmarshal(reqs[0].body, &ce))
		assert.Equal(t, "com.wafermonitor.subjob.completed", ce["type"])
		assert.Equal(t, "success", ce["waferoutcome"])
		assert.Equal(t, "c3a9e1f0-1234-4abc-9def-0123456789ab", ce["data"].(map[string]any)["entity_id"])
	})
}

func TestRecords(t *testing.T) {
	_, traces := sampleSignals(t, validSamples...)
	require.Equal(t, 6, traces.SpanCount())

	t.Run("single", func(t *testing.T) {
		reqs := sendTraces(t, traces, func(cfg *Config) {
			cfg.Format = FormatRecord
		})
		require.Equal(t, 6, len(reqs))
		var subjob, failed map[string]any
		for _, r := range reqs {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(r.body, &rec))
			assert.Equal(t, rec["idempotency_key"], r.header.Get("Idempotency-Key"))
			switch rec["entity_id"] {
			case "c3a9e1f0-1234-4abc-9def-0123456789ab":
				subjob = rec
			case "a1b2c3d4-e5f6-4789-8abc-def012345678":
				failed = rec
			}
		}
		require.NotNil(t, subjob)
		assert.Equal(t, map[string]any{
			"idempotency_key": "derived:c3a9e1f0-1234-4abc-9def-0123456789ab:finished:1760875293323456000",
			"site_id":         "fab1",
			"service_name":    "litho-scheduler",
			"service_version": "1.4.2",
			"app_id":          "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
			"entity_type":     "subjob",
			"entity_id":       "c3a9e1f0-1234-4abc-9def-0123456789ab",
			"parent_id":       "a1b2c3d4-e5f6-4789-8abc-def012345678",
			"business_key":    "lot-4711",
			"sub_key":         "wafer-07",
			"name":            "subjob lot-4711/wafer-07",
			"kind":            "finished",
			"status":          "succeeded",
			"outcome":         "success",
			"started_at":      "2025-10-19T12:00:00.123456Z",
			"ended_at":        "2025-10-19T12:01:33.323456Z",
			"duration_s":      93.2,
			"cpu_user_s":      1.25,
			"cpu_system_s":    0.1,
			"mem_max_mb":      412.5,
			"trace_id":        "a1b2c3d4e5f647898abcdef012345678",
			"span_id":         "e733122fb599b676",
		}, subjob)
		require.NotNil(t, failed)
		assert.Equal(t, "failure", failed["outcome"])
		assert.Equal(t, "OverlayError", failed["error_type"])
		assert.Equal(t, "overlay out of spec on wafer 07", failed["error_message"])
		assert.Equal(t, map[string]any{"error": "overlay out of spec on wafer 07", "error_type": "OverlayError", "recipe": "R-193"}, failed["metadata"])
	})

	t.Run("batch-object", func(t *testing.T) {
		reqs := sendTraces(t, traces, func(cfg *Config) {
			cfg.Format = FormatRecord
			cfg.Mode = ModeBatch
			cfg.BatchEnvelope = EnvelopeObject
		})
		require.Len(t, reqs, 1)
		var batch struct {
			Records []map[string]any `json:"records"`
			Count   int              `json:"count"`
		}
		require.NoError(t, json.Unmarshal(reqs[0].body, &batch))
		assert.Equal(t, 6, batch.Count)
		assert.Equal(t, 6, len(batch.Records))
	})
}

// TestSignature verifies the signature the way a receiver would, with its
// own HMAC code, on the body as received (after gzip is undone).
func TestSignature(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json")
	for _, compression := range []configcompression.Type{"", configcompression.TypeGzip} {
		t.Run("compression="+string(compression), func(t *testing.T) {
			reqs := sendLogs(t, logs, func(cfg *Config) {
				cfg.Signing.Secret = "topsecret"
				cfg.ClientConfig.Compression = compression
			})
			require.Len(t, reqs, 3)
			for _, r := range reqs {
				ts := r.header.Get("X-Wafermonitor-Timestamp")
				assert.Equal(t, strconv.FormatInt(fixedNow.Unix(), 10), ts)
				mac := hmac.New(sha256.New, []byte("topsecret"))
				mac.Write([]byte(ts + "." + string(r.body)))
				want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
				assert.Equal(t, want, r.header.Get("X-Wafermonitor-Signature"))
			}
		})
	}

	t.Run("unsigned", func(t *testing.T) {
		rec := newRecorder(t, nil)
		e := startExporter(t, configFor(rec.URL))
		require.NoError(t, e.pushLogs(t.Context(), logs))
		for _, r := range rec.received() {
			assert.Empty(t, r.header.Get("X-Wafermonitor-Signature"))
			assert.NotEmpty(t, r.header.Get("X-Wafermonitor-Timestamp"))
		}
	})
}

func TestCustomHeaders(t *testing.T) {
	logs, _ := sampleSignals(t, "python-started.json")
	rec := newRecorder(t, nil)
	cfg := configFor(rec.URL)
	require.NoError(t, unmarshalInto(cfg, map[string]any{"headers": map[string]any{"Authorization": "Bearer abc", "X-Team": "litho"}}))
	cfg.IdempotencyHeader = "X-Request-Id"
	e := startExporter(t, cfg)
	require.NoError(t, e.pushLogs(t.Context(), logs))
	reqs := rec.received()
	require.Len(t, reqs, 1)
	assert.Equal(t, "Bearer abc", reqs[0].header.Get("Authorization"))
	assert.Equal(t, "litho", reqs[0].header.Get("X-Team"))
	assert.NotEmpty(t, reqs[0].header.Get("X-Request-Id"))
	assert.Empty(t, reqs[0].header.Get("Idempotency-Key"))
}

// TestStatusClasses checks how every class of answer is treated.
func TestStatusClasses(t *testing.T) {
	logs, _ := sampleSignals(t, "python-started.json")
	for _, tc := range []struct {
		code       int
		retryAfter string
		permanent  bool
		delay      time.Duration // the throttle delay, 0 for none
	}{
		{code: 200},
		{code: 201},
		{code: 204},
		{code: 400, permanent: true},
		{code: 401, permanent: true},
		{code: 403, permanent: true},
		{code: 404, permanent: true},
		{code: 413, permanent: true},
		{code: 422, permanent: true},
		{code: 408},
		{code: 429},
		{code: 429, retryAfter: "7", delay: 7 * time.Second},
		{code: 500},
		{code: 501},
		{code: 502},
		{code: 503},
		{code: 503, retryAfter: fixedNow.Add(90 * time.Second).Format(http.TimeFormat), delay: 90 * time.Second},
		{code: 504},
		{code: 500, retryAfter: "7"}, // Retry-After only counts with 429 and 503
	} {
		t.Run(strconv.Itoa(tc.code)+"/"+tc.retryAfter, func(t *testing.T) {
			rec := newRecorder(t, func(_ int, w http.ResponseWriter) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(`{"detail":"nope"}`))
			})
			e := startExporter(t, configFor(rec.URL))
			err := e.pushLogs(t.Context(), logs)
			if tc.code < 300 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorContains(t, err, "answered HTTP "+strconv.Itoa(tc.code)+`: {"detail":"nope"}`)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(err))
			if !tc.permanent {
				var partial consumererror.Logs
				require.ErrorAs(t, err, &partial)
				assert.Equal(t, 1, partial.Data().LogRecordCount())
			}
			assert.Equal(t, tc.delay, throttleDelay(err))
		})
	}
}

// throttleDelay reads the delay of an exporterhelper throttle error from its
// message, the only place the helper exposes it.
func throttleDelay(err error) time.Duration {
	msg := err.Error()
	const marker = "Throttle ("
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0
	}
	rest := msg[i+len(marker):]
	d, perr := time.ParseDuration(rest[:strings.IndexByte(rest, ')')])
	if perr != nil {
		return -1
	}
	return d
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	logs, _ := sampleSignals(t, "python-started.json")
	rec := newRecorder(t, nil)
	rec.Close() // nothing listens any more
	e := startExporter(t, configFor(rec.URL))
	err := e.pushLogs(t.Context(), logs)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "POST "+rec.URL+" failed")
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"12", 12 * time.Second, true},
		{"-3", 0, true},
		{fixedNow.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{fixedNow.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"9227000000", time.Hour, true},
		{fixedNow.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour, true},
	} {
		got, ok := retryAfter(tc.value, fixedNow)
		assert.Equal(t, tc.ok, ok, tc.value)
		assert.Equal(t, tc.want, got, tc.value)
	}
}

// TestPartialFailure: a rejected event goes to the dead-letter file and the
// others still go out; at a retryable failure exactly what was not yet
// delivered is handed back for retry.
func TestPartialFailure(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json", "sdk03-batch-object.json", "python-started.json")
	total := logs.LogRecordCount()
	require.GreaterOrEqual(t, total, 5)
	rec := newRecorder(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusUnprocessableEntity)
		case 3:
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	cfg := configFor(rec.URL)
	cfg.DeadLetter.Path = filepath.Join(t.TempDir(), "dead.jsonl")
	e := startExporter(t, cfg)
	left := requireRetryLater(t, e.pushLogs(t.Context(), logs), total-3)

	reqs := rec.received()
	require.Len(t, reqs, 4)
	var firstLeft map[string]any
	require.NoError(t, json.Unmarshal(reqs[3].body, &firstLeft))
	ev, _ := eventOf(left.ResourceLogs().At(0).Resource(), left.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
	assert.Equal(t, firstLeft["idempotency_key"], ev.IdempotencyKey)

	lines := readDeadLetters(t, cfg.DeadLetter.Path)
	require.Len(t, lines, 1)
	assert.Equal(t, http.StatusUnprocessableEntity, lines[0].StatusCode)
	assert.JSONEq(t, string(reqs[1].body), string(lines[0].Payload))
	assert.Equal(t, reqs[1].header.Get("Idempotency-Key"), lines[0].IdempotencyKey)
}

func TestFilters(t *testing.T) {
	logs, traces := sampleSignals(t, validSamples...)
	for _, tc := range []struct {
		name    string
		filters []FilterConfig
		want    []string // event kinds sent, sorted
	}{
		{"none", nil, []string{"canceled", "error", "finished", "finished", "finished", "finished", "metric", "progress", "started", "started", "started"}},
		{"failures and cancellations", []FilterConfig{{Outcomes: []string{"failure"}}, {EventKinds: []string{"canceled"}}}, []string{"canceled", "error", "finished"}},
		{"jobs of fab2", []FilterConfig{{EntityTypes: []string{"job"}, Sites: []string{"fab2"}}}, []string{"canceled", "progress", "started"}},
		{"app by name or id", []FilterConfig{{Apps: []string{"cmp-control"}}, {Apps: []string{"22222222-2222-4222-8222-222222222222"}}}, []string{"canceled", "metric", "progress", "started"}},
		{"statuses", []FilterConfig{{Statuses: []string{"succeeded"}}}, []string{"finished", "finished", "finished"}},
		{"nothing matches", []FilterConfig{{Sites: []string{"fab9"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			cfg := configFor(rec.URL)
			cfg.Filters = tc.filters
			e := startExporter(t, cfg)
			require.NoError(t, e.pushLogs(t.Context(), logs))
			var kinds []string
			for _, r := range rec.received() {
				var ev v1event.Event
				require.NoError(t, json.Unmarshal(r.body, &ev))
				kinds = append(kinds, ev.Event.Kind)
			}
			slices.Sort(kinds)
			assert.Equal(t, tc.want, kinds)
		})
	}

	t.Run("finished entities", func(t *testing.T) {
		reqs := sendTraces(t, traces, func(cfg *Config) {
			cfg.Format = FormatRecord
			cfg.Filters = []FilterConfig{{Outcomes: []string{"failure", "timeout"}}}
		})
		for _, r := range reqs {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(r.body, &rec))
			assert.Equal(t, "failure", rec["outcome"])
		}
		assert.NotEmpty(t, reqs)
	})
}

// TestThroughExporterHelper runs the exporter as the collector does, with
// the helper's retry: two 503s with Retry-After 0, then the event arrives.
func TestThroughExporterHelper(t *testing.T) {
	logs, _ := sampleSignals(t, "python-started.json")
	rec := newRecorder(t, func(n int, w http.ResponseWriter) {
		if n < 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	f := NewFactory()
	cfg := configFor(rec.URL)
	cfg.RetryConfig.InitialInterval = time.Millisecond
	cfg.RetryConfig.MaxInterval = 5 * time.Millisecond
	q := cfg.QueueConfig.Get()
	q.WaitForResult = true
	exp, err := f.CreateLogs(t.Context(), newSettings(), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(t.Context(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(t.Context(), logs))
	require.NoError(t, exp.Shutdown(t.Context()))
	reqs := rec.received()
	require.Len(t, reqs, 3)
	assert.Equal(t, reqs[0].body, reqs[2].body)
	assert.Equal(t, reqs[0].header.Get("Idempotency-Key"), reqs[2].header.Get("Idempotency-Key"))
}

func TestErrorsWrap(t *testing.T) {
	err := (&statusError{url: "http://x", code: 500}).Error()
	assert.Equal(t, "POST http://x answered HTTP 500", err)
	var se *statusError
	assert.True(t, errors.As(consumererror.NewPermanent(&statusError{code: 400}), &se))
}

// TestRecordRollups: a job span with the jobhierarchy processor's roll-ups
// gives a record with named roll-up fields; other attributes keep their name.
func TestRecordRollups(t *testing.T) {
	_, traces := sampleSignals(t, "python-job-failed.json")
	span := traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	a := span.Attributes()
	a.PutInt(semconv.AttrSubjobsTotal, 25)
	a.PutInt(semconv.AttrSubjobsFailed, 2)
	a.PutDouble(semconv.AttrJobCPUUserSum, 31.5)
	a.PutStr(semconv.AttrJobOutcome, semconv.OutcomeSuccessWithFailures)
	a.PutStr("site.line", "L3")
	reqs := sendTraces(t, traces, func(cfg *Config) {
		cfg.Format = FormatRecord
	})
	require.Len(t, reqs, 1)
	var got map[string]any
	require.NoError(t, json.Unmarshal(reqs[0].body, &got))
	assert.InDelta(t, 25, got["subjobs_total"], 0)
	assert.InDelta(t, 2, got["subjobs_failed"], 0)
	assert.InDelta(t, 31.5, got["subjobs_cpu_user_s_sum"], 0)
	assert.Equal(t, "success_with_failures", got["job_outcome"])
	assert.Equal(t, "L3", got["site.line"])
	assert.NotContains(t, got, semconv.AttrSubjobsTotal)
	// Absent means complete; the processor marks a job whose roll-ups lost subjobs.
	assert.Equal(t, true, got["rollup_complete"])
	a.PutBool(semconv.AttrJobRollupComplete, false)
	reqs = sendTraces(t, traces, func(cfg *Config) { cfg.Format = FormatRecord })
	require.NoError(t, json.Unmarshal(reqs[0].body, &got))
	assert.Equal(t, false, got["rollup_complete"])
	assert.NotContains(t, got, semconv.AttrJobRollupComplete)
	// A record without roll-ups has no such field.
	for _, k := range []string{semconv.AttrSubjobsTotal, semconv.AttrSubjobsFailed, semconv.AttrJobCPUUserSum, semconv.AttrJobOutcome, semconv.AttrJobRollupComplete} {
		a.Remove(k)
	}
	reqs = sendTraces(t, traces, func(cfg *Config) { cfg.Format = FormatRecord })
	got = nil
	require.NoError(t, json.Unmarshal(reqs[0].body, &got))
	assert.NotContains(t, got, "rollup_complete")
}

// TestSkipsOtherDataAndCounts: application logs and spans that share the
// pipeline are not sent; the telemetry counts requests, filtered items and
// dead letters.
func TestSkipsOtherDataAndCounts(t *testing.T) {
	logs, traces := sampleSignals(t, "python-batch-array.json")
	other := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	other.Body().SetStr("GET /healthz 200")
	otherSpan := traces.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	otherSpan.SetName("GET /healthz")

	rec := newRecorder(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := configFor(rec.URL)
	cfg.Format = FormatCloudEvents
	cfg.Filters = []FilterConfig{{EventKinds: []string{"started", "canceled"}}}
	e, err := newExporter(cfg, metadatatest.NewSettings(tel))
	require.NoError(t, err)
	require.NoError(t, e.start(t.Context(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })

	require.Error(t, e.pushLogs(t.Context(), logs)) // started: 200, canceled: 400
	reqs := rec.received()
	require.Len(t, reqs, 2)
	cfg.Filters = nil
	require.Error(t, e.pushTraces(t.Context(), traces)) // the canceled job: 400
	require.Len(t, rec.received(), 3)

	metadatatest.AssertEqualExporterWebhookRequests(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("outcome", "sent"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("outcome", "rejected"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterWebhookFiltered(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "filter"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "not_wafermonitor"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterWebhookDeadLettered(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}
