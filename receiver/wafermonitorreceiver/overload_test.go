package wafermonitorreceiver

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
)

func TestMaxConcurrentRequests(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) { c.MaxConcurrentRequests = 2; c.RetryAfter = 3 * time.Second }})
	// Two requests in flight hold every token.
	ts.recv.inFlight <- struct{}{}
	ts.recv.inFlight <- struct{}{}
	a := ts.post(t, "/v1/event", readSample(t, "python-started.json"))
	require.Equal(t, http.StatusServiceUnavailable, a.code)
	assert.Equal(t, "3", a.header.Get("Retry-After"))
	assert.Contains(t, a.body["detail"].([]any)[0].(map[string]any)["msg"], "max_concurrent_requests")
	assert.Equal(t, 0, ts.logs.LogRecordCount())

	<-ts.recv.inFlight
	a = ts.post(t, "/v1/event", readSample(t, "python-started.json"))
	require.Equal(t, http.StatusOK, a.code)
	assert.Len(t, ts.recv.inFlight, 1, "the token is given back")

	cfg := createDefaultConfig().(*Config)
	cfg.MaxConcurrentRequests = 0
	assert.ErrorContains(t, cfg.Validate(), "max_concurrent_requests must be positive")
}

func TestHealthDegradedWhileAnExporterFails(t *testing.T) {
	ts := startServer(t, serverOptions{})
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var failing []exporterhealth.Failure
	ts.recv.failingExporters = func() []exporterhealth.Failure { return failing }

	assert.Equal(t, "ok", ts.do(t, http.MethodGet, "/v1/health", nil, nil).body["status"])

	failing = []exporterhealth.Failure{{Exporter: "webhook (logs)", Error: "connection refused", Since: since}}
	h := ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, http.StatusOK, h.code)
	assert.Equal(t, "degraded", h.body["status"])
	assert.Equal(t, []any{map[string]any{"exporter": "webhook (logs)", "error": "connection refused", "since": "2026-01-01T00:00:00Z"}}, h.body["failing_exporters"])

	failing = nil
	h = ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, "ok", h.body["status"])
	assert.NotContains(t, h.body, "failing_exporters")
}
