package webhookexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"
)

// samplesDir holds v1 request bodies in the shapes real clients send.
var samplesDir = filepath.Join("testdata", "v1")

// fixedNow is the clock of the exporters under test.
var fixedNow = time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)

func newSettings() exporter.Settings {
	return exportertest.NewNopSettings(metadata.Type)
}

// startExporter builds and starts the exporter itself (no queue or retry),
// with a fixed clock.
func startExporter(t *testing.T, cfg *Config) *webhookExporter {
	t.Helper()
	return startExporterWith(t, cfg, newSettings())
}

// startExporterWith is startExporter with the given settings (e.g. of a
// test telemetry).
func startExporterWith(t *testing.T, cfg *Config, set exporter.Settings) *webhookExporter {
	t.Helper()
	require.NoError(t, cfg.Validate())
	e, err := newExporter(cfg, set)
	require.NoError(t, err)
	e.now = func() time.Time { return fixedNow }
	require.NoError(t, e.start(t.Context(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e
}

func configFor(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	return cfg
}

// request is what a test server received.
type request struct {
	header http.Header
	body   []byte
}

// recorder is a loopback HTTP server that records requests (decompressing
// gzip bodies) and answers with respond, or 200.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	respond  func(n int, w http.ResponseWriter) // n counts requests from 0
}

func newRecorder(t *testing.T, respond func(n int, w http.ResponseWriter)) *recorder {
	rec := &recorder{respond: respond}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var err error
		if r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(r.Body); err == nil {
				body, err = io.ReadAll(zr)
			}
		} else {
			body, err = io.ReadAll(r.Body)
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		n := len(rec.requests)
		rec.requests = append(rec.requests, request{header: r.Header.Clone(), body: body})
		rec.mu.Unlock()
		if rec.respond != nil {
			rec.respond(n, w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) received() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.requests...)
}

// waferReceiver runs the real wafermonitor receiver on loopback, feeding sinks.
type waferReceiver struct {
	endpoint string
	logs     *consumertest.LogsSink
	traces   *consumertest.TracesSink
}

func startWaferReceiver(t *testing.T) *waferReceiver {
	t.Helper()
	f := wafermonitorreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	addr := "127.0.0.1:" + strconv.Itoa(testcollector.FreePort(t))
	// The receiver's config embeds confighttp.ServerConfig; set its endpoint
	// through the confmap path the collector itself uses.
	require.NoError(t, unmarshalInto(cfg, map[string]any{"endpoint": addr}))
	wr := &waferReceiver{endpoint: "http://" + addr, logs: new(consumertest.LogsSink), traces: new(consumertest.TracesSink)}
	set := receivertest.NewNopSettings(component.MustNewType("wafermonitor"))
	lr, err := f.CreateLogs(t.Context(), set, cfg, wr.logs)
	require.NoError(t, err)
	tr, err := f.CreateTraces(t.Context(), set, cfg, wr.traces)
	require.NoError(t, err)
	require.NoError(t, lr.Start(t.Context(), componenttest.NewNopHost()))
	require.NoError(t, tr.Start(t.Context(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, lr.Shutdown(context.Background()))
		require.NoError(t, tr.Shutdown(context.Background()))
	})
	return wr
}

// post sends a sample file to path and requires a 200.
func (wr *waferReceiver) post(t *testing.T, path, file string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(samplesDir, file))
	require.NoError(t, err)
	resp, err := http.Post(wr.endpoint+path, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", file, msg)
}

// sampleSignals converts sample files with the real receiver.
func sampleSignals(t *testing.T, files ...string) (plog.Logs, ptrace.Traces) {
	t.Helper()
	wr := startWaferReceiver(t)
	for _, f := range files {
		wr.post(t, samplePath(t, f), f)
	}
	logs := plog.NewLogs()
	for _, l := range wr.logs.AllLogs() {
		l.ResourceLogs().MoveAndAppendTo(logs.ResourceLogs())
	}
	traces := ptrace.NewTraces()
	for _, tr := range wr.traces.AllTraces() {
		tr.ResourceSpans().MoveAndAppendTo(traces.ResourceSpans())
	}
	return logs, traces
}

// samplePath is the receiver path for a sample: batch or single.
func samplePath(t *testing.T, file string) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(samplesDir, file))
	require.NoError(t, err)
	body = bytes.TrimSpace(body)
	if bytes.HasPrefix(body, []byte("[")) {
		return "/v1/ingest/events:batch"
	}
	var obj map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &obj))
	if _, ok := obj["events"]; ok {
		return "/v1/ingest/batch"
	}
	return "/v1/ingest/events"
}

func unmarshalInto(cfg component.Config, m map[string]any) error {
	return confmap.NewFromStringMap(m).Unmarshal(cfg)
}

// sendLogs pushes logs through an exporter configured by configure, to a
// loopback server that answers 200, and returns the requests it received.
func sendLogs(t *testing.T, logs plog.Logs, configure func(*Config)) []request {
	t.Helper()
	return send(t, configure, func(e *webhookExporter) error { return e.pushLogs(t.Context(), logs) })
}

// sendTraces is sendLogs for finished entities.
func sendTraces(t *testing.T, traces ptrace.Traces, configure func(*Config)) []request {
	t.Helper()
	return send(t, configure, func(e *webhookExporter) error { return e.pushTraces(t.Context(), traces) })
}

func send(t *testing.T, configure func(*Config), push func(*webhookExporter) error) []request {
	t.Helper()
	rec := newRecorder(t, nil)
	cfg := configFor(rec.URL)
	configure(cfg)
	require.NoError(t, push(startExporter(t, cfg)))
	return rec.received()
}

// requireRetryLater requires a retryable error that hands back n log
// records, and returns them.
func requireRetryLater(t *testing.T, err error, n int) plog.Logs {
	t.Helper()
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var partial consumererror.Logs
	require.ErrorAs(t, err, &partial)
	assert.Equal(t, n, partial.Data().LogRecordCount())
	return partial.Data()
}
