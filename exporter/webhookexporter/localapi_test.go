package webhookexporter

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/localapitest"
	"github.com/wafermonitor/wafermonitor/internal/statustest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// localAPIConfig is a local_api exporter of the stand-in Local API.
func localAPIConfig(api *localapitest.Server, mode string) *Config {
	cfg := configFor(api.URL)
	cfg.Format = FormatLocalAPI
	cfg.Mode = mode
	cfg.MaxBatchEvents = 4
	return cfg
}

// storedEvents decodes what the stand-in Local API stored.
func storedEvents(t *testing.T, api *localapitest.Server) map[string]v1event.Event {
	t.Helper()
	out := map[string]v1event.Event{}
	for key, raw := range api.Events() {
		var ev v1event.Event
		require.NoError(t, json.Unmarshal(raw, &ev))
		out[key] = ev
	}
	return out
}

// TestLocalAPIStoresEverySample sends every sample, as the receiver turned
// it into log records, to a Local API that answers as the old one does:
// bare arrays to the batch path or single events, a business key on every
// event (the flat clients send none), times it parses on Python 3.10, and
// events hours old (its limit is 10 minutes) sent at the send time with
// their own time kept.
func TestLocalAPIStoresEverySample(t *testing.T) {
	logs, _ := sampleSignals(t, validSamples...)
	total := logs.LogRecordCount()
	for _, tc := range []struct {
		mode string
		path string
	}{
		{ModeBatch, localapitest.BatchPath},
		{ModeSingle, localapitest.SinglePath},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			api := localapitest.Start(t)
			api.Now = func() time.Time { return fixedNow }
			e := startExporter(t, localAPIConfig(api, tc.mode))
			require.NoError(t, e.pushLogs(t.Context(), logs))

			assert.Empty(t, api.Refusals())
			assert.Equal(t, map[string]int{tc.path: map[string]int{ModeBatch: 3, ModeSingle: total}[tc.mode]}, api.Requests())
			stored := storedEvents(t, api)
			require.Len(t, stored, total)
			for key, ev := range stored {
				require.NotNil(t, ev.Entity.BusinessKey, key)
				assert.NotEmpty(t, *ev.Entity.BusinessKey, key)
				assert.True(t, strings.HasSuffix(ev.Event.At, "+00:00"), ev.Event.At)
			}
			// The Java client's wafer has neither business key nor parent:
			// its own id; a job without a key: its own id.
			java := stored["bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb-start-1729420000"]
			assert.Equal(t, "cccccccc-cccc-4ccc-8ccc-cccccccccccc", *java.Entity.BusinessKey)
			r := stored["dddddddd-dddd-4ddd-8ddd-dddddddddddd-error-1729420100"]
			assert.Equal(t, "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", *r.Entity.BusinessKey)
			// Sent at the send time, its own time kept.
			early := stored["11111111-1111-4111-8111-111111111111"]
			assert.Equal(t, "2025-10-19T12:00:00.000000+00:00", early.Event.At)
			assert.Equal(t, "2025-10-19T08:00:00.000000+00:00", early.Event.Metadata.(map[string]any)["original_at"])
			// Within the limit an event keeps its own time.
			started := stored["0f8fad5b-d9cb-469f-a165-70867728950e"]
			assert.Equal(t, "2025-10-19T12:00:00.123456+00:00", started.Event.At)
			assert.Equal(t, map[string]any{"recipe": "R-193", "tool": "SCN-07"}, started.Event.Metadata)
		})
	}
}

// TestLocalAPISubjobTakesItsJobsKey: a subjob event without a business key
// (e.g. a synthetic one) gets its job's id, like its job's events.
func TestLocalAPISubjobTakesItsJobsKey(t *testing.T) {
	logs, _ := sampleSignals(t, "python-subjob-finished.json")
	lr := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.Attributes().Remove(semconv.AttrBusinessKey)
	lr.Attributes().PutStr(semconv.AttrParentIDOriginal, "LOT-4711-JOB")
	api := localapitest.Start(t)
	api.Now = func() time.Time { return fixedNow }
	e := startExporter(t, localAPIConfig(api, ModeSingle))
	require.NoError(t, e.pushLogs(t.Context(), logs))
	ev := storedEvents(t, api)["7c9e6679-7425-40de-944b-e07fc1f90ae7"]
	require.NotNil(t, ev.Entity.BusinessKey)
	assert.Equal(t, "LOT-4711-JOB", *ev.Entity.BusinessKey)
	assert.Equal(t, "LOT-4711-JOB", *ev.Entity.ParentID)
	// Within the skew limit the event keeps its own time.
	assert.Equal(t, "2025-10-19T12:01:33.323456+00:00", ev.Event.At)
	assert.NotContains(t, ev.Event.Metadata, "original_at")
}

// TestLocalAPIFailedInsideA200: the Local API answers a batch 200 with
// failed > 0; the exporter resends the batch's events one by one, counts
// them and, when they are stored then, reports nothing failed.
func TestLocalAPIFailedInsideA200(t *testing.T) {
	logs, _ := sampleSignals(t, validSamples...)
	total := logs.LogRecordCount()
	api := localapitest.Start(t)
	api.Now = func() time.Time { return fixedNow }
	api.FailNextInBatches(2)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	e := startExporterWith(t, localAPIConfig(api, ModeBatch), metadatatest.NewSettings(tel))

	require.NoError(t, e.pushLogs(t.Context(), logs))
	assert.Len(t, api.Events(), total)
	// The first batch of 4: 2 failed inside the 200, its 4 events resent alone.
	assert.Equal(t, map[string]int{localapitest.BatchPath: 3, localapitest.SinglePath: 4}, api.Requests())
	metadatatest.AssertEqualExporterWebhookPartiallyFailed(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterWebhookRequests(t, tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("outcome", "partial"))},
		{Value: 6, Attributes: attribute.NewSet(attribute.String("outcome", "sent"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestLocalAPIRefusedInsideA200: events the Local API refuses alone as
// well are dead-lettered one by one (each line replays to the single
// path), the push reports a permanent failure, and health is degraded
// until a delivery succeeds.
func TestLocalAPIRefusedInsideA200(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json", "python-started.json")
	api := localapitest.Start(t)
	api.Now = func() time.Time { return fixedNow }
	cfg := localAPIConfig(api, ModeBatch)
	cfg.MaxBatchEvents = 100
	cfg.LocalAPI.MaxTimeSkew = 0 // every event keeps its own time
	cfg.DeadLetter.Path = filepath.Join(t.TempDir(), "dead.jsonl")
	e := startExporter(t, cfg)
	host := statustest.NewHost()
	e.health = exporterhealth.NewTracker()
	e.health.Start(host)

	err := e.pushLogs(t.Context(), logs)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	// python-started.json is at 12:00:00.123456, within 10 minutes of the
	// Local API's clock; the batch-array events are from 08:00.
	assert.Len(t, api.Events(), 1)
	dead := readDeadLetters(t, cfg.DeadLetter.Path)
	require.Len(t, dead, logs.LogRecordCount()-1)
	for _, d := range dead {
		assert.Equal(t, http.StatusUnprocessableEntity, d.StatusCode)
		assert.Equal(t, api.URL+localapitest.SinglePath, d.Endpoint)
		assert.Equal(t, 1, d.Count)
		assert.Contains(t, d.Error, "Event time skew too large")
		var ev v1event.Event
		require.NoError(t, json.Unmarshal(d.Payload, &ev))
		assert.Equal(t, ev.IdempotencyKey, d.IdempotencyKey)
	}
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.Statuses(), "health must be degraded")

	ok, _ := sampleSignals(t, "python-subjob-finished.json")
	require.NoError(t, e.pushLogs(t.Context(), ok))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.Statuses())
}

// TestLocalAPIRetryDuringResend: a retryable answer while events are
// resent one by one hands back exactly the events not yet stored.
func TestLocalAPIRetryDuringResend(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json")
	total := logs.LogRecordCount()
	require.GreaterOrEqual(t, total, 3)
	rec := newRecorder(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 0: // the batch
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"ok":true,"total":3,"success":2,"failed":1}`))
		case 1: // the first event alone
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	cfg := configFor(rec.URL + "/local")
	cfg.Format = FormatLocalAPI
	cfg.Mode = ModeBatch
	e := startExporter(t, cfg)
	left := requireRetryLater(t, e.pushLogs(t.Context(), logs), total-1)

	reqs := rec.received()
	require.Len(t, reqs, 3)
	var batch []map[string]any
	require.NoError(t, json.Unmarshal(reqs[0].body, &batch), "a bare array")
	assert.Len(t, batch, total)
	var second v1event.Event
	require.NoError(t, json.Unmarshal(reqs[2].body, &second))
	first := left.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, second.IdempotencyKey, first.Attributes().AsRaw()[semconv.AttrIdempotencyKey])
}

// TestLocalAPIPaths: the endpoint is the Local API's base URL; batches go
// to :batch, single events (and resends) to /v1/ingest/events.
func TestLocalAPIPaths(t *testing.T) {
	for _, tc := range []struct{ endpoint, mode, url, single string }{
		{"http://api:18000", ModeBatch, "http://api:18000/v1/ingest/events:batch", "http://api:18000/v1/ingest/events"},
		{"http://api:18000/", ModeSingle, "http://api:18000/v1/ingest/events", "http://api:18000/v1/ingest/events"},
		{"https://gw/localapi/", ModeBatch, "https://gw/localapi/v1/ingest/events:batch", "https://gw/localapi/v1/ingest/events"},
	} {
		cfg := configFor(tc.endpoint)
		cfg.Format = FormatLocalAPI
		cfg.Mode = tc.mode
		require.NoError(t, cfg.Validate())
		e, err := newExporter(cfg, newSettings())
		require.NoError(t, err)
		assert.Equal(t, tc.url, e.url)
		assert.Equal(t, tc.single, e.singleURL)
	}
}

// TestOriginalIDs: ids a client sent that were not UUIDs come back in the
// v1 event as the client sent them.
func TestOriginalIDs(t *testing.T) {
	logs, _ := sampleSignals(t, "python-subjob-finished.json")
	rl := logs.ResourceLogs().At(0)
	rl.Resource().Attributes().PutStr(semconv.AttrAppIDOriginal, "litho")
	a := rl.ScopeLogs().At(0).LogRecords().At(0).Attributes()
	a.PutStr(semconv.AttrEntityIDOriginal, "wafer-07-run")
	a.PutStr(semconv.AttrParentIDOriginal, "LOT-4711")
	reqs := sendLogs(t, logs, func(*Config) {})
	require.Len(t, reqs, 1)
	var ev v1event.Event
	require.NoError(t, json.Unmarshal(reqs[0].body, &ev))
	assert.Equal(t, "litho", ev.App.AppID)
	assert.Equal(t, "wafer-07-run", ev.Entity.ID)
	assert.Equal(t, "LOT-4711", *ev.Entity.ParentID)
}

// TestMethod: PUT and PATCH are sent as configured.
func TestMethod(t *testing.T) {
	logs, _ := sampleSignals(t, "python-started.json")
	var got string
	rec := newRecorder(t, nil)
	rec.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method
		w.WriteHeader(http.StatusOK)
	})
	cfg := configFor(rec.URL)
	cfg.Method = http.MethodPut
	require.NoError(t, startExporter(t, cfg).pushLogs(t.Context(), logs))
	assert.Equal(t, http.MethodPut, got)
}
