package wafermonitorreceiver

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// fakeSpool is a storage extension that holds persistent queues.
type fakeSpool struct {
	extension.Extension
	dir    string
	queues []spool.Queue
}

func (f *fakeSpool) Directory() string     { return f.dir }
func (f *fakeSpool) Queues() []spool.Queue { return f.queues }

func TestHealthAnswersTheOldFields(t *testing.T) {
	t.Run("no persistent queue", func(t *testing.T) {
		ts := startServer(t, serverOptions{})
		for _, p := range healthPaths {
			a := ts.do(t, http.MethodGet, p, nil, nil)
			require.Equal(t, http.StatusOK, a.code, p)
			assert.Equal(t, map[string]any{
				"status": "ok", "service": "otelcol", "version": "latest", "receiver": ts.recv.settings.ID.String(),
				"spool_count": 0.0, "spool_dir": "",
			}, a.body, p)
		}
	})
	t.Run("items waiting in the persistent queues", func(t *testing.T) {
		csv := component.MustNewID("csv")
		storage := &fakeSpool{Extension: nopExtension{}, dir: "/var/lib/wafermonitor/queue", queues: []spool.Queue{
			{Owner: csv, Kind: component.KindExporter, Name: "logs", Items: 7},
			{Owner: csv, Kind: component.KindExporter, Name: "traces", Items: 3},
			{Owner: component.MustNewID("webhook"), Kind: component.KindExporter, Name: "logs", Items: 0},
		}}
		other := &fakeSpool{Extension: nopExtension{}, dir: "/var/lib/wafermonitor/zqueue", queues: []spool.Queue{{Owner: csv, Items: 5}}}
		ts := startServer(t, serverOptions{extensions: map[component.ID]component.Component{
			component.MustNewID("file_storage"):                 storage,
			component.MustNewIDWithName("file_storage", "more"): other,
		}})
		for _, p := range healthPaths {
			a := ts.do(t, http.MethodGet, p, nil, nil)
			require.Equal(t, http.StatusOK, a.code, p)
			assert.Equal(t, 15.0, a.body["spool_count"], p)
			assert.Equal(t, "/var/lib/wafermonitor/queue", a.body["spool_dir"], p)
		}
		storage.queues[0].Items = 0
		assert.Equal(t, 8.0, ts.do(t, http.MethodGet, "/v1/healthz", nil, nil).body["spool_count"], "read at every request")
	})
}

func TestHealthDegradedClearsOnceRefusalsStop(t *testing.T) {
	sink := &gatedLogs{gate: make(chan struct{}), refuseFirst: 2}
	close(sink.gate)
	ts := startServer(t, serverOptions{logs: sink, onlyLogs: true})
	now := time.Unix(1000, 0)
	ts.recv.now = func() time.Time { return now }
	health := func() map[string]any { return ts.do(t, http.MethodGet, "/v1/health", nil, nil).body }

	require.Equal(t, http.StatusServiceUnavailable, ts.post(t, "/v1/event", uniqueEvent(t, 1)).code)
	h := health()
	assert.Equal(t, "degraded", h["status"])
	assert.Contains(t, h["last_error"], "sending queue is full")

	// Without new requests, degraded ends after degradedFor.
	now = now.Add(degradedFor)
	assert.Equal(t, "ok", health()["status"])

	require.Equal(t, http.StatusServiceUnavailable, ts.post(t, "/v1/event", uniqueEvent(t, 2)).code)
	assert.Equal(t, "degraded", health()["status"])
	// The next accepted request ends it at once.
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, 3)).code)
	h = health()
	assert.Equal(t, "ok", h["status"])
	assert.NotContains(t, h, "last_error")
}

func TestHealthRefusalCause(t *testing.T) {
	var h health
	h.now = func() time.Time { return time.Unix(10, 0) }
	h.refused(time.Unix(10, 0), errors.New("full"))
	msg, ok := h.lastRefusalError()
	assert.True(t, ok)
	assert.Equal(t, "full", msg)
	h.accepted(time.Unix(10, 0))
	_, ok = h.lastRefusalError()
	assert.False(t, ok)
}
