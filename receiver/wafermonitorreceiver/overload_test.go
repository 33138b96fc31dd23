package wafermonitorreceiver

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
)

func TestHealthDegradedWhileAnExporterFails(t *testing.T) {
	ts := startServer(t, serverOptions{})
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var failing []exporterhealth.Failure
	ts.recv.health.failingExporters = func() []exporterhealth.Failure { return failing }

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
