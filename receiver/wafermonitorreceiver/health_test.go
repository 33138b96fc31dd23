package wafermonitorreceiver

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/internal/pipelinehealth"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// fakeSpool is a storage extension that holds persistent queues and moved
// damaged files aside.
type fakeSpool struct {
	extension.Extension
	dir     string
	queues  []spool.Queue
	damaged []spool.DamagedFile
}

func (f *fakeSpool) Directory() string                 { return f.dir }
func (f *fakeSpool) Queues() []spool.Queue             { return f.queues }
func (f *fakeSpool) DamagedFiles() []spool.DamagedFile { return f.damaged }

func TestHealthAnswersTheOldFields(t *testing.T) {
	t.Run("no persistent queue", func(t *testing.T) {
		ts := startServer(t, serverOptions{})
		for _, p := range healthPaths {
			a := ts.do(t, http.MethodGet, p, nil, nil)
			require.Equal(t, http.StatusOK, a.code, p)
			assert.Equal(t, map[string]any{
				"status": "ok", "service": "otelcol", "version": "latest", "receiver": ts.recv.settings.ID.String(),
				"spool_count": 0.0, "spool_dir": "", "pipelines_unknown": noPipelineHealth,
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

// pipelineHealthExtension is the pipeline_health extension as the receiver
// sees it: a Provider.
type pipelineHealthExtension struct {
	extension.Extension
	asked  []component.ID
	report pipelinehealth.Report
}

func (p *pipelineHealthExtension) PipelineHealth(receiver component.ID) pipelinehealth.Report {
	p.asked = append(p.asked, receiver)
	return p.report
}

// TestHealthFromThePipelines: with the pipeline_health extension the
// answer tells the health of the receiver's pipelines: failing exporters
// and other components, exporters recovering from a backlog, damaged
// files; their queues are its spool.
func TestHealthFromThePipelines(t *testing.T) {
	logs, traces := pipeline.NewID(pipeline.SignalLogs), pipeline.NewID(pipeline.SignalTraces)
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	csv := component.MustNewID("csv")
	ph := &pipelineHealthExtension{Extension: nopExtension{}, report: pipelinehealth.Report{
		Pipelines: []pipeline.ID{logs, traces}, SpoolCount: 12, SpoolDir: "/data/queue",
	}}
	ts := startServer(t, serverOptions{extensions: map[component.ID]component.Component{component.MustNewID("pipeline_health"): ph}})
	now := since.Add(time.Hour)
	ts.recv.now = func() time.Time { return now }
	health := func() map[string]any {
		a := ts.do(t, http.MethodGet, "/v1/health", nil, nil)
		require.Equal(t, http.StatusOK, a.code)
		return a.body
	}

	assert.Equal(t, map[string]any{
		"status": "ok", "service": "otelcol", "version": "latest", "receiver": ts.recv.settings.ID.String(),
		"spool_count": 12.0, "spool_dir": "/data/queue", "pipelines": []any{"logs", "traces"},
	}, health())
	assert.Equal(t, []component.ID{ts.recv.settings.ID}, ph.asked, "asked for the receiver's own pipelines")

	ph.report.Recovering = []pipelinehealth.Recovering{{ID: csv, Pipelines: []pipeline.ID{logs}, Queued: 760, Backlog: 700, Since: since}}
	h := health()
	assert.Equal(t, "recovering", h["status"])
	assert.Equal(t, []any{map[string]any{"exporter": "csv (logs)", "queued": 760.0, "backlog": 700.0, "since": "2026-01-01T00:00:00Z"}},
		h["recovering_exporters"])

	ph.report.Failing = []pipelinehealth.Failure{
		{ID: component.MustNewIDWithName("webhook", "ops"), Kind: component.KindExporter, Pipelines: []pipeline.ID{logs, pipeline.NewIDWithName(pipeline.SignalLogs, "2")},
			Error: "connection refused", Since: since},
		{ID: component.MustNewID("jobhierarchy"), Kind: component.KindProcessor, Pipelines: []pipeline.ID{traces},
			Permanent: true, Error: strings.Repeat("x", 600), Since: since},
	}
	h = health()
	assert.Equal(t, "degraded", h["status"], "a failure outweighs a recovery")
	assert.Equal(t, []any{map[string]any{"exporter": "webhook/ops (logs, logs/2)", "error": "connection refused", "since": "2026-01-01T00:00:00Z"}},
		h["failing_exporters"])
	require.Len(t, h["failing_components"], 1)
	failing := h["failing_components"].([]any)[0].(map[string]any)
	assert.Equal(t, "jobhierarchy (traces)", failing["component"])
	assert.Equal(t, "processor", failing["kind"])
	assert.Equal(t, true, failing["permanent"])
	assert.Len(t, failing["error"], 503, "cut at 500 bytes and marked")
	assert.Contains(t, h, "recovering_exporters")

	ph.report.Failing, ph.report.Recovering = nil, nil
	ph.report.Damaged = []pipelinehealth.DamagedFile{{DamagedFile: spool.DamagedFile{
		Owner: csv, Kind: component.KindExporter, Name: "logs", Path: "/data/queue/exporter_csv__logs",
		MovedTo: "/data/queue/exporter_csv__logs.damaged-20260101T000000Z", Problem: "file size too small", At: since,
	}, DegradedUntil: since.Add(24 * time.Hour)}}
	h = health()
	assert.Equal(t, "degraded", h["status"])
	assert.Equal(t, []any{map[string]any{
		"component": "csv", "kind": "exporter", "file": "/data/queue/exporter_csv__logs",
		"moved_to": "/data/queue/exporter_csv__logs.damaged-20260101T000000Z", "problem": "file size too small",
		"at": "2026-01-01T00:00:00Z", "degraded_until": "2026-01-02T00:00:00Z",
	}}, h["damaged_files"])
	now = since.Add(24 * time.Hour)
	h = health()
	assert.Equal(t, "ok", h["status"], "degraded_until has passed")
	assert.Len(t, h["damaged_files"], 1, "listed until acknowledged")
}

// TestHealthWithoutPipelineHealth: without the extension the answer says
// so, and still lists what the storage extensions moved aside, until the
// kept copy is removed.
func TestHealthWithoutPipelineHealth(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "processor_jobhierarchy_.damaged-20260101T000000Z")
	require.NoError(t, os.WriteFile(kept, []byte("x"), 0o600))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	storage := &fakeSpool{Extension: nopExtension{}, dir: dir, damaged: []spool.DamagedFile{{
		Owner: component.MustNewID("jobhierarchy"), Kind: component.KindProcessor, Path: filepath.Join(dir, "processor_jobhierarchy_"),
		MovedTo: kept, Problem: "page 3: bad flags", At: at,
	}}}
	ts := startServer(t, serverOptions{extensions: map[component.ID]component.Component{component.MustNewID("file_storage"): storage}})
	ts.recv.now = func() time.Time { return at.Add(time.Hour) }
	h := ts.do(t, http.MethodGet, "/v1/health", nil, nil).body
	assert.Equal(t, "degraded", h["status"])
	assert.Equal(t, noPipelineHealth, h["pipelines_unknown"])
	require.Len(t, h["damaged_files"], 1)
	assert.Equal(t, kept, h["damaged_files"].([]any)[0].(map[string]any)["moved_to"])

	require.NoError(t, os.Remove(kept))
	h = ts.do(t, http.MethodGet, "/v1/health", nil, nil).body
	assert.Equal(t, "ok", h["status"], "acknowledged")
	assert.NotContains(t, h, "damaged_files")
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
