package wafermonitorreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

type testServer struct {
	url     string
	logs    *consumertest.LogsSink
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	recv    *wafermonitorReceiver
}

type serverOptions struct {
	cfg        func(*Config)
	logsErr    error         // returned by the logs consumer
	logs       consumer.Logs // replaces the logs sink
	onlyLogs   bool
	extensions map[component.ID]component.Component
	telemetry  *componenttest.Telemetry
	logger     *zap.Logger
}

func startServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	// The tests hand the metrics over themselves (emitMetrics), so that
	// no interval elapses between their steps on a slow machine.
	cfg.MetricsInterval = time.Hour
	if opts.cfg != nil {
		opts.cfg(cfg)
	}
	require.NoError(t, cfg.Validate())
	ts := &testServer{url: "http://" + cfg.Endpoint, logs: new(consumertest.LogsSink), traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink)}
	f := NewFactory()
	set := receivertest.NewNopSettings(metadata.Type)
	if opts.telemetry != nil {
		set.TelemetrySettings = opts.telemetry.NewTelemetrySettings()
	}
	if opts.logger != nil {
		set.Logger = opts.logger
	}
	var logsConsumer consumer.Logs = ts.logs
	switch {
	case opts.logsErr != nil:
		logsConsumer = consumertest.NewErr(opts.logsErr)
	case opts.logs != nil:
		logsConsumer = opts.logs
	}
	lr, err := f.CreateLogs(context.Background(), set, cfg, logsConsumer)
	require.NoError(t, err)
	users := []component.Component{lr}
	if !opts.onlyLogs {
		tr, err := f.CreateTraces(context.Background(), set, cfg, ts.traces)
		require.NoError(t, err)
		mr, err := f.CreateMetrics(context.Background(), set, cfg, ts.metrics)
		require.NoError(t, err)
		users = append(users, tr, mr)
	}
	ts.recv = lr.(*sharedcomponent.Component[*wafermonitorReceiver]).Unwrap()
	host := &extensionHost{Host: componenttest.NewNopHost(), ext: opts.extensions}
	for _, u := range users { // as the collector does: one Start per pipeline signal
		require.NoError(t, u.Start(context.Background(), host))
	}
	t.Cleanup(func() { require.NoError(t, lr.Shutdown(context.Background())) })
	return ts
}

type extensionHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h *extensionHost) GetExtensions() map[component.ID]component.Component { return h.ext }

type answer struct {
	code   int
	header http.Header
	body   map[string]any
}

func (ts *testServer) do(t *testing.T, method, path string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{code: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && resp.Header.Get("Content-Type") == "application/json" {
		require.NoError(t, json.Unmarshal(raw, &a.body), "body %s", raw)
	}
	return a
}

func (ts *testServer) post(t *testing.T, path string, body []byte) answer {
	return ts.do(t, http.MethodPost, path, body, nil)
}

func TestEveryPathAcceptsItsBody(t *testing.T) {
	ts := startServer(t, serverOptions{})
	single := readSample(t, "python-started.json")
	array := readSample(t, "python-batch-array.json")
	object := readSample(t, "sdk03-batch-object.json")
	for i, path := range singlePaths {
		for _, suffix := range []string{"", "/"} {
			// distinct keys, or the second post would be a duplicate
			body := bytes.Replace(single, []byte("0f8fad5b"), []byte(fmt.Sprintf("0f8fad%d%d", i, len(suffix))), 1)
			a := ts.post(t, path+suffix, body)
			require.Equal(t, http.StatusOK, a.code, path+suffix)
			assert.Equal(t, map[string]any{"ok": true, "accepted": 1.0, "duplicates": 0.0}, a.body)
		}
	}
	for _, path := range batchPaths {
		a := ts.post(t, path, array)
		require.Equal(t, http.StatusOK, a.code, path)
		assert.Equal(t, true, a.body["ok"])
		assert.Equal(t, 3.0, a.body["total"])
		b := ts.post(t, path+"/", object)
		require.Equal(t, http.StatusOK, b.code, path)
		assert.Equal(t, 1.0, b.body["total"])
	}
	// 4 single posts, and each batch path got the same 3 + 1 events: accepted once, then duplicates.
	assert.Equal(t, 4+3+1, ts.logs.LogRecordCount())
	assert.Equal(t, 1, ts.traces.SpanCount(), "the canceled job is the only entity that ended")
	assert.Empty(t, ts.metrics.AllMetrics(), "the metrics go out once per interval, not with each request")
	ts.emitMetrics(t)
	assert.Len(t, ts.metrics.AllMetrics(), 1)
}

func TestGzipAndAnyContentType(t *testing.T) {
	ts := startServer(t, serverOptions{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(readSample(t, "python-batch-array.json"))
	require.NoError(t, zw.Close())
	a := ts.do(t, http.MethodPost, "/v1/ingest/events:batch", buf.Bytes(), map[string]string{"Content-Encoding": "gzip", "Content-Type": "text/plain"})
	require.Equal(t, http.StatusOK, a.code)
	assert.Equal(t, 3.0, a.body["accepted"])

	b := ts.do(t, http.MethodPost, "/v1/event", readSample(t, "c-flat.json"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	require.Equal(t, http.StatusOK, b.code)
	assert.Equal(t, 4, ts.logs.LogRecordCount())
}

func TestRejections(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) {
		c.MaxBatchEvents = 2
		c.MaxRequestBodySize = 4096
	}})
	t.Run("invalid event is 422 with details", func(t *testing.T) {
		a := ts.post(t, "/v1/event", []byte(`{"site_id": 5, "app": [], "entity": {"type": "job", "id": "x"}}`))
		require.Equal(t, http.StatusUnprocessableEntity, a.code)
		detail := a.body["detail"].([]any)
		require.Len(t, detail, 3)
		locs := []string{}
		for _, d := range detail {
			m := d.(map[string]any)
			assert.NotEmpty(t, m["msg"])
			assert.NotEmpty(t, m["type"])
			b, _ := json.Marshal(m["loc"])
			locs = append(locs, string(b))
		}
		assert.ElementsMatch(t, []string{`["body","site_id"]`, `["body","app"]`, `["body","event"]`}, locs)
	})
	t.Run("batch is all or nothing", func(t *testing.T) {
		before := ts.logs.LogRecordCount()
		good := readSample(t, "python-started.json")
		a := ts.post(t, "/v1/events/batch", []byte("["+string(good)+`,{"site_id":"x"}]`))
		require.Equal(t, http.StatusUnprocessableEntity, a.code)
		assert.Contains(t, fmt.Sprint(a.body["detail"]), "[body 1 app]")
		assert.Equal(t, before, ts.logs.LogRecordCount())
	})
	t.Run("too many events is 413", func(t *testing.T) {
		a := ts.post(t, "/v1/ingest/batch", []byte(`[{},{},{}]`))
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.code)
		assert.Contains(t, fmt.Sprint(a.body["detail"]), "max_batch_events")
	})
	t.Run("body too large is 413", func(t *testing.T) {
		a := ts.post(t, "/v1/event", bytes.Repeat([]byte(" "), 5000))
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.code)
	})
	t.Run("gzip bomb is 413", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(bytes.Repeat([]byte(" "), 10<<20))
		require.NoError(t, zw.Close())
		a := ts.do(t, http.MethodPost, "/v1/event", buf.Bytes(), map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.code)
	})
	t.Run("corrupt gzip is 400", func(t *testing.T) {
		a := ts.do(t, http.MethodPost, "/v1/event", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusBadRequest, a.code)
	})
	t.Run("unknown path is 404 as FastAPI answers it", func(t *testing.T) {
		a := ts.post(t, "/v2/event", []byte(`{}`))
		assert.Equal(t, http.StatusNotFound, a.code)
		assert.Equal(t, map[string]any{"detail": "Not Found"}, a.body)
	})
	t.Run("wrong method is 405 with Allow as FastAPI answers it", func(t *testing.T) {
		a := ts.do(t, http.MethodGet, "/v1/event", nil, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, a.code)
		assert.Equal(t, "POST", a.header.Get("Allow"))
		assert.Equal(t, map[string]any{"detail": "Method Not Allowed"}, a.body)
		b := ts.do(t, http.MethodPost, "/v1/health", nil, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, b.code)
		assert.Equal(t, "GET, HEAD", b.header.Get("Allow"))
		assert.Equal(t, map[string]any{"detail": "Method Not Allowed"}, b.body)
	})
}

func TestDeduplication(t *testing.T) {
	ts := startServer(t, serverOptions{})
	body := readSample(t, "python-job-failed.json")
	require.Equal(t, 1.0, ts.post(t, "/v1/event", body).body["accepted"])
	a := ts.post(t, "/v1/event", body)
	require.Equal(t, http.StatusOK, a.code)
	assert.Equal(t, map[string]any{"ok": true, "accepted": 0.0, "duplicates": 1.0}, a.body)
	assert.Equal(t, 1, ts.logs.LogRecordCount())
	assert.Equal(t, 1, ts.traces.SpanCount())

	// Twice within one batch, and once more: one new, two duplicates.
	other := readSample(t, "python-started.json")
	b := ts.post(t, "/v1/ingest/batch", []byte("["+string(other)+","+string(other)+","+string(body)+"]"))
	assert.Equal(t, map[string]any{"ok": true, "total": 3.0, "accepted": 1.0, "duplicates": 2.0, "spooled": 1.0}, b.body)
	assert.Equal(t, 2, ts.logs.LogRecordCount())

	// Events without a key are deduplicated by their derived key.
	nokey := readSample(t, "business-app-nested-no-key.json")
	assert.Equal(t, 1.0, ts.post(t, "/v1/event", nokey).body["accepted"])
	assert.Equal(t, 1.0, ts.post(t, "/v1/event", nokey).body["duplicates"])
}

func TestDeduplicationWindow(t *testing.T) {
	d := newDeduplicator(2, time.Minute)
	now := time.Unix(1000, 0)
	accept := func(keys ...string) {
		t.Helper()
		c := d.claim(eventsWithKeys(keys...), now)
		require.Len(t, c.keys, len(keys))
		d.settle(c.keys, true, now)
	}
	seen := func(key string, at time.Time) bool {
		c := d.claim(eventsWithKeys(key), at)
		d.settle(c.keys, false, at)
		return c.duplicates == 1
	}
	accept("a", "b")
	assert.True(t, seen("a", now))
	accept("c")
	assert.False(t, seen("a", now), "count window: oldest key evicted")
	assert.True(t, seen("c", now))
	assert.False(t, seen("c", now.Add(time.Minute)), "age window")
	assert.Equal(t, 0, d.len())
}

func eventsWithKeys(keys ...string) []event {
	events := make([]event, len(keys))
	for i, k := range keys {
		events[i].IdempotencyKey = k
	}
	return events
}

func TestPipelineRefusal(t *testing.T) {
	t.Run("retryable is 503 with Retry-After and not remembered as accepted", func(t *testing.T) {
		ts := startServer(t, serverOptions{logsErr: errors.New("sending queue is full"), cfg: func(c *Config) { c.RetryAfter = 7 * time.Second }})
		body := readSample(t, "python-started.json")
		a := ts.post(t, "/v1/event", body)
		require.Equal(t, http.StatusServiceUnavailable, a.code)
		assert.Equal(t, "7", a.header.Get("Retry-After"))
		assert.Contains(t, fmt.Sprint(a.body["detail"]), "sending queue is full")
		assert.Equal(t, 503, ts.post(t, "/v1/event", body).code, "a refused event is not a duplicate on retry")
		h := ts.do(t, http.MethodGet, "/v1/health", nil, nil)
		assert.Equal(t, http.StatusOK, h.code)
		assert.Equal(t, "degraded", h.body["status"])
	})
	t.Run("permanent is 400", func(t *testing.T) {
		ts := startServer(t, serverOptions{logsErr: consumererror.NewPermanent(errors.New("bad data"))})
		a := ts.post(t, "/v1/event", readSample(t, "python-started.json"))
		assert.Equal(t, http.StatusBadRequest, a.code)
	})
}

func TestOnlyLogsPipeline(t *testing.T) {
	ts := startServer(t, serverOptions{onlyLogs: true})
	a := ts.post(t, "/v1/event", readSample(t, "python-job-failed.json"))
	require.Equal(t, http.StatusOK, a.code)
	assert.Equal(t, 1, ts.logs.LogRecordCount())
	assert.Equal(t, 0, ts.traces.SpanCount())
}

// bearerAuth accepts requests with "Authorization: Bearer <token>".
type bearerAuth struct {
	extension.Extension
	token string
}

func (b bearerAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for _, v := range headers["Authorization"] {
		if v == "Bearer "+b.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or invalid bearer token")
}

var _ extensionauth.Server = bearerAuth{}

func TestAuthentication(t *testing.T) {
	authID := component.MustNewID("testauth")
	ts := startServer(t, serverOptions{
		cfg: func(c *Config) {
			c.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
		},
		extensions: map[component.ID]component.Component{authID: bearerAuth{Extension: nopExtension{}, token: "s3cret-token"}},
	})
	body := readSample(t, "python-started.json")
	a := ts.post(t, "/v1/event", body)
	require.Equal(t, http.StatusUnauthorized, a.code)
	assert.NotContains(t, fmt.Sprint(a.body), "s3cret")
	b := ts.do(t, http.MethodPost, "/v1/event", body, map[string]string{"Authorization": "Bearer wrong"})
	require.Equal(t, http.StatusUnauthorized, b.code)
	assert.NotContains(t, fmt.Sprint(b.body), "wrong")
	c := ts.do(t, http.MethodPost, "/v1/event", body, map[string]string{"Authorization": "Bearer s3cret-token"})
	require.Equal(t, http.StatusOK, c.code)
	// Probes carry no credentials.
	assert.Equal(t, http.StatusOK, ts.do(t, http.MethodGet, "/v1/health", nil, nil).code)
	assert.Equal(t, 1, ts.logs.LogRecordCount())
}

type nopExtension struct{}

func (nopExtension) Start(context.Context, component.Host) error { return nil }
func (nopExtension) Shutdown(context.Context) error              { return nil }

func TestShutdownBeforeStart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestStartFailsOnBusyPort(t *testing.T) {
	first := startServer(t, serverOptions{})
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = strings.TrimPrefix(first.url, "http://")
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen")
	require.NoError(t, r.Shutdown(context.Background()))
}
