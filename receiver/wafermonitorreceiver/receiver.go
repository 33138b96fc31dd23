package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// maxMetricSeries caps the receiver's cumulative metric series (site × app ×
// entity type × status or kind): far above any real fab, low enough to bound memory.
const maxMetricSeries = 20000

// precountBytes is the body size above which a batch's events are counted
// before they are decoded.
const precountBytes = 256 << 10

// degradedFor is how long after a refusal by the pipeline the health
// endpoint keeps answering "degraded".
const degradedFor = 30 * time.Second

type wafermonitorReceiver struct {
	cfg      *Config
	settings receiver.Settings

	nextLogs    consumer.Logs
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics

	obsrep    *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	counters  *promCounters
	dedup     *deduplicator
	metrics   *cumulativeMetrics
	conv      converter
	routes    map[string]route
	now       func() time.Time

	server     *http.Server
	shutdownWG sync.WaitGroup
	stopping   atomic.Bool
	// lastRefusal is the Unix nanoseconds of the pipeline's latest refusal.
	lastRefusal atomic.Int64
	lastError   atomic.Value // string
	// inFlight holds a token per event request being read or decoded.
	inFlight chan struct{}
	// failingExporters lists the exporters whose latest delivery failed.
	failingExporters func() []exporterhealth.Failure
}

type route struct {
	method  string
	handler http.HandlerFunc
}

// Paths of the v1 API. Every variant a client of the old sidecar uses is served.
var (
	singlePaths = []string{"/v1/event", "/v1/ingest/events"}
	batchPaths  = []string{"/v1/events/batch", "/v1/ingest/events:batch", "/v1/ingest/batch"}
	healthPaths = []string{"/v1/health", "/v1/healthz", "/health"}
)

const metricsPath = "/metrics"

func newReceiver(cfg *Config, set receiver.Settings) (*wafermonitorReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	r := &wafermonitorReceiver{
		cfg:       cfg,
		settings:  set,
		obsrep:    obsrep,
		telemetry: tb,
		counters:  newPromCounters(),
		conv:      converter{version: set.BuildInfo.Version},
		now:       time.Now,
		inFlight:  make(chan struct{}, cfg.MaxConcurrentRequests),

		failingExporters: exporterhealth.Failing,
	}
	if cfg.Deduplication.Enabled {
		r.dedup = newDeduplicator(cfg.Deduplication.MaxKeys, cfg.Deduplication.Window)
	}
	var warnOnce sync.Once
	r.metrics = newCumulativeMetrics(maxMetricSeries, func() {
		warnOnce.Do(func() {
			set.Logger.Warn("Metric series limit reached: events of new site/app/type/status combinations are not counted in metrics (logs and traces still carry them)",
				zap.Int("max_series", maxMetricSeries))
		})
	})
	r.routes = map[string]route{metricsPath: {http.MethodGet, r.counters.handler().ServeHTTP}}
	for _, p := range singlePaths {
		r.routes[p] = route{http.MethodPost, func(w http.ResponseWriter, req *http.Request) { r.handleEvents(w, req, p, false) }}
	}
	for _, p := range batchPaths {
		r.routes[p] = route{http.MethodPost, func(w http.ResponseWriter, req *http.Request) { r.handleEvents(w, req, p, true) }}
	}
	for _, p := range healthPaths {
		r.routes[p] = route{http.MethodGet, r.handleHealth}
	}
	return r, nil
}

// Start listens on the configured endpoint.
func (r *wafermonitorReceiver) Start(ctx context.Context, host component.Host) error {
	srv, err := r.cfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings,
		http.HandlerFunc(r.route), confighttp.WithErrorHandler(r.writeHTTPError))
	if err != nil {
		return err
	}
	// Health probes (Kubernetes, load balancers) carry no credentials: they
	// are answered before authentication and the other middlewares.
	api := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isHealthPath(normalizePath(req.URL.Path)) {
			r.route(w, req)
			return
		}
		api.ServeHTTP(w, req)
	})
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("wafermonitor receiver cannot listen on %q: %w", r.cfg.Endpoint, err)
	}
	r.server = srv
	r.settings.Logger.Info("Starting v1 event API", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Add(1)
	go func() {
		defer r.shutdownWG.Done()
		if errHTTP := srv.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	}()
	return nil
}

// Shutdown stops accepting, lets requests in flight finish and closes the listener.
func (r *wafermonitorReceiver) Shutdown(ctx context.Context) error {
	r.stopping.Store(true)
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.telemetry.Shutdown()
	return err
}

func normalizePath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

func isHealthPath(p string) bool {
	for _, h := range healthPaths {
		if p == h {
			return true
		}
	}
	return false
}

// route dispatches by path (a trailing slash tolerated) and method.
func (r *wafermonitorReceiver) route(w http.ResponseWriter, req *http.Request) {
	path := normalizePath(req.URL.Path)
	rt, ok := r.routes[path]
	if !ok {
		r.count(req.Context(), "other", http.StatusNotFound)
		writeProblems(w, http.StatusNotFound, problem{Type: "not_found", Loc: []any{"path"}, Msg: "no such endpoint: " + truncate(req.URL.Path, 200)})
		return
	}
	headOfGet := rt.method == http.MethodGet && req.Method == http.MethodHead
	if req.Method != rt.method && !headOfGet {
		r.count(req.Context(), path, http.StatusMethodNotAllowed)
		w.Header().Set("Allow", rt.method)
		writeProblems(w, http.StatusMethodNotAllowed, problem{Type: "method_not_allowed", Loc: []any{"method"}, Msg: req.Method + " is not allowed here; use " + rt.method})
		return
	}
	rt.handler(w, req)
}

func (r *wafermonitorReceiver) handleEvents(w http.ResponseWriter, req *http.Request, path string, batch bool) {
	ctx := req.Context()
	var code int
	var body any
	select {
	case r.inFlight <- struct{}{}:
		code, body = r.ingest(ctx, req, batch)
		<-r.inFlight
	default:
		// Refused before the body is read: overload costs no memory.
		r.reject(ctx, "overload", 1)
		r.lastRefusal.Store(r.now().UnixNano())
		r.lastError.Store("too many requests in flight (max_concurrent_requests)")
		code, body = http.StatusServiceUnavailable, problems{Detail: []problem{{Type: "unavailable", Loc: []any{},
			Msg: fmt.Sprintf("more than %d requests in flight (max_concurrent_requests); retry after the Retry-After delay", r.cfg.MaxConcurrentRequests)}}}
	}
	r.count(ctx, path, code)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(r.cfg.RetryAfter/time.Second)))
	}
	writeJSON(w, code, body)
}

type acceptedSingle struct {
	OK         bool `json:"ok"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"`
}

type acceptedBatch struct {
	OK         bool `json:"ok"`
	Total      int  `json:"total"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"`
}

type problems struct {
	OK     bool      `json:"ok"`
	Detail []problem `json:"detail"`
}

// ingest decodes, validates, deduplicates and hands a request's events to
// the pipeline; it returns the status and the body of the answer.
func (r *wafermonitorReceiver) ingest(ctx context.Context, req *http.Request, batch bool) (int, any) {
	if r.stopping.Load() {
		return http.StatusServiceUnavailable, problems{Detail: []problem{{Type: "unavailable", Loc: []any{}, Msg: "the collector is shutting down; retry"}}}
	}
	raw, err := readBody(req)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.reject(ctx, "too_large", 1)
			return http.StatusRequestEntityTooLarge, problems{Detail: []problem{{Type: "too_large", Loc: []any{"body"},
				Msg: fmt.Sprintf("request body larger than %d bytes (max_request_body_size)", tooLarge.Limit)}}}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			r.reject(ctx, "timeout", 1)
			return http.StatusRequestTimeout, problems{Detail: []problem{{Type: "timeout", Loc: []any{"body"},
				Msg: fmt.Sprintf("the request body did not arrive within %s (read_timeout)", r.cfg.ReadTimeout)}}}
		}
		r.reject(ctx, "invalid", 1)
		return http.StatusBadRequest, problems{Detail: []problem{{Type: "body_read", Loc: []any{"body"}, Msg: "cannot read the request body: " + err.Error()}}}
	}
	now := r.now()
	events, code, prob := r.decode(raw, now, batch)
	if prob != nil {
		return code, prob
	}
	if len(events) > 1 || batch {
		batch = true
	}

	fresh, keys, dups := r.deduplicate(events, now)
	if dups > 0 {
		r.telemetry.ReceiverWafermonitorEventsDuplicate.Add(ctx, int64(dups))
		r.counters.duplicates.Add(float64(dups))
	}
	if len(fresh) > 0 {
		if err := r.consume(ctx, fresh, now); err != nil {
			r.reject(ctx, "pipeline", len(fresh))
			r.lastRefusal.Store(now.UnixNano())
			r.lastError.Store(err.Error())
			if consumererror.IsPermanent(err) {
				return http.StatusBadRequest, problems{Detail: []problem{{Type: "rejected", Loc: []any{"body"}, Msg: "the pipeline rejected the data permanently: " + err.Error()}}}
			}
			return http.StatusServiceUnavailable, problems{Detail: []problem{{Type: "unavailable", Loc: []any{},
				Msg: "the pipeline cannot take data now (" + err.Error() + "); retry after the Retry-After delay"}}}
		}
		if r.dedup != nil {
			r.dedup.accept(keys, now)
		}
		for i := range fresh {
			r.telemetry.ReceiverWafermonitorEvents.Add(ctx, 1, metric.WithAttributeSet(kindAttrs(fresh[i].Kind)))
			r.counters.events.WithLabelValues(fresh[i].Kind).Inc()
		}
	}
	if batch {
		return http.StatusOK, acceptedBatch{OK: true, Total: len(events), Accepted: len(fresh), Duplicates: dups}
	}
	return http.StatusOK, acceptedSingle{OK: true, Accepted: len(fresh), Duplicates: dups}
}

// decode parses and validates a body. A batch is all or nothing: every bad
// item is reported, and none is accepted.
func (r *wafermonitorReceiver) decode(raw []byte, now time.Time, batch bool) ([]event, int, any) {
	if len(raw) > precountBytes {
		if n, ok := countBatchItems(raw, r.cfg.MaxBatchEvents); ok && n > r.cfg.MaxBatchEvents {
			r.reject(context.Background(), "too_large", n)
			return nil, http.StatusRequestEntityTooLarge, problems{Detail: []problem{{Type: "too_large", Loc: []any{"body"},
				Msg: fmt.Sprintf("more than %d events in one batch (max_batch_events)", r.cfg.MaxBatchEvents)}}}
		}
	}
	v, perr := parseJSON(raw)
	if perr != nil {
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	d := decoder{now: now}
	_, isArray := v.([]any)
	obj, isObject := v.(map[string]any)
	_, hasEvents := obj["events"]
	wrapped := isObject && hasEvents
	if !batch && !isArray && !wrapped {
		e, probs := d.decodeEvent(v, []any{"body"})
		if probs != nil {
			r.reject(context.Background(), "invalid", 1)
			return nil, http.StatusUnprocessableEntity, problems{Detail: probs}
		}
		return []event{e}, 0, nil
	}
	items, perr := batchItems(v)
	if perr != nil {
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	if len(items) > r.cfg.MaxBatchEvents {
		r.reject(context.Background(), "too_large", len(items))
		return nil, http.StatusRequestEntityTooLarge, problems{Detail: []problem{{Type: "too_large", Loc: []any{"body"},
			Msg: fmt.Sprintf("%d events in one batch; at most %d are allowed (max_batch_events)", len(items), r.cfg.MaxBatchEvents)}}}
	}
	events := make([]event, 0, len(items))
	var all []problem
	for i, item := range items {
		e, probs := d.decodeEvent(item, []any{"body", i})
		if probs != nil {
			all = append(all, probs...)
			continue
		}
		events = append(events, e)
	}
	if len(all) > 0 {
		r.reject(context.Background(), "invalid", len(items))
		return nil, http.StatusUnprocessableEntity, problems{Detail: all}
	}
	return events, 0, nil
}

// deduplicate drops events whose key was accepted before or repeats within
// the request, and returns the rest with their keys.
func (r *wafermonitorReceiver) deduplicate(events []event, now time.Time) ([]event, []string, int) {
	if r.dedup == nil {
		return events, nil, 0
	}
	fresh := events[:0:0]
	keys := make([]string, 0, len(events))
	inRequest := make(map[string]struct{}, len(events))
	dups := 0
	for _, e := range events {
		if _, ok := inRequest[e.IdempotencyKey]; ok || r.dedup.seen(e.IdempotencyKey, now) {
			dups++
			continue
		}
		inRequest[e.IdempotencyKey] = struct{}{}
		fresh = append(fresh, e)
		keys = append(keys, e.IdempotencyKey)
	}
	return fresh, keys, dups
}

// consume hands the events to each signal's pipeline. The first refusal is
// returned; the client retries the whole request, so a signal that took the
// data before may see it twice (at-least-once).
func (r *wafermonitorReceiver) consume(ctx context.Context, events []event, now time.Time) error {
	if r.nextLogs != nil {
		logs := r.conv.toLogs(events, now)
		n := logs.LogRecordCount()
		opCtx := r.obsrep.StartLogsOp(ctx)
		err := r.nextLogs.ConsumeLogs(opCtx, logs)
		r.obsrep.EndLogsOp(opCtx, metadata.Type.String(), n, err)
		if err != nil {
			return err
		}
	}
	if r.nextTraces != nil {
		if traces, n := r.conv.toTraces(events); n > 0 {
			opCtx := r.obsrep.StartTracesOp(ctx)
			err := r.nextTraces.ConsumeTraces(opCtx, traces)
			r.obsrep.EndTracesOp(opCtx, metadata.Type.String(), n, err)
			if err != nil {
				return err
			}
		}
	}
	if r.nextMetrics != nil {
		md := r.metrics.record(&r.conv, events, now)
		n := md.DataPointCount()
		opCtx := r.obsrep.StartMetricsOp(ctx)
		err := r.nextMetrics.ConsumeMetrics(opCtx, md)
		r.obsrep.EndMetricsOp(opCtx, metadata.Type.String(), n, err)
		if err != nil {
			return err
		}
	}
	return nil
}

type healthBody struct {
	Status           string          `json:"status"`
	Service          string          `json:"service"`
	Version          string          `json:"version"`
	Receiver         string          `json:"receiver"`
	LastError        string          `json:"last_error,omitempty"`
	FailingExporters []failingExport `json:"failing_exporters,omitempty"`
}

type failingExport struct {
	Exporter string    `json:"exporter"`
	Error    string    `json:"error"`
	Since    time.Time `json:"since"`
}

// handleHealth answers ok while the receiver takes data and every exporter
// delivers, degraded (still 200) while the pipeline has refused data
// recently or an exporter's latest delivery failed, and 503 when shutting down.
func (r *wafermonitorReceiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	body := healthBody{Status: "ok", Service: r.settings.BuildInfo.Command, Version: r.settings.BuildInfo.Version, Receiver: r.settings.ID.String()}
	code := http.StatusOK
	if last := r.lastRefusal.Load(); last != 0 && r.now().Sub(time.Unix(0, last)) < degradedFor {
		body.Status = "degraded"
		body.LastError, _ = r.lastError.Load().(string)
	}
	for _, f := range r.failingExporters() {
		body.Status = "degraded"
		body.FailingExporters = append(body.FailingExporters, failingExport{Exporter: f.Exporter, Error: truncate(f.Error, 500), Since: f.Since.UTC()})
	}
	if r.stopping.Load() {
		body.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	r.count(req.Context(), normalizePath(req.URL.Path), code)
	writeJSON(w, code, body)
}

// writeHTTPError answers errors raised by the collector's HTTP middlewares
// (authentication, decompression) in the API's JSON shape.
func (r *wafermonitorReceiver) writeHTTPError(w http.ResponseWriter, req *http.Request, msg string, code int) {
	typ := "bad_request"
	loc := []any{"body"}
	if code == http.StatusUnauthorized {
		// The authenticator's message never carries the credential itself.
		typ, loc = "unauthorized", []any{"header", "Authorization"}
	}
	path := normalizePath(req.URL.Path)
	if _, ok := r.routes[path]; !ok {
		path = "other"
	}
	r.count(req.Context(), path, code)
	writeProblems(w, code, problem{Type: typ, Loc: loc, Msg: msg})
}

func (r *wafermonitorReceiver) count(ctx context.Context, path string, code int) {
	c := strconv.Itoa(code)
	r.telemetry.ReceiverWafermonitorRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("path", path), attribute.String("code", c)))
	r.counters.requests.WithLabelValues(path, c).Inc()
}

func (r *wafermonitorReceiver) reject(ctx context.Context, reason string, n int) {
	r.telemetry.ReceiverWafermonitorEventsRejected.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	r.counters.rejected.WithLabelValues(reason).Add(float64(n))
}

var kindAttrSets sync.Map // kind -> attribute.Set

func kindAttrs(kind string) attribute.Set {
	if s, ok := kindAttrSets.Load(kind); ok {
		return s.(attribute.Set)
	}
	s := attribute.NewSet(attribute.String("kind", kind))
	kindAttrSets.Store(kind, s)
	return s
}

func writeProblems(w http.ResponseWriter, code int, p ...problem) {
	writeJSON(w, code, problems{Detail: p})
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{"ok":false}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
