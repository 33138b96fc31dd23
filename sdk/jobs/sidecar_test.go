package jobs

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// v1Server records the batches POSTed to the v1 API.
type v1Server struct {
	*httptest.Server
	mu      sync.Mutex
	events  []map[string]any
	paths   []string
	respond func(n int) int // status for the n-th request (from 0)
	count   atomic.Int32
}

func newV1Server(t *testing.T, respond func(n int) int) *v1Server {
	s := &v1Server{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.count.Add(1)) - 1
		if code := s.respond(n); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
		body := r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		var batch []map[string]any
		if err := json.NewDecoder(body).Decode(&batch); err != nil {
			t.Errorf("batch body: %v", err)
		}
		s.mu.Lock()
		s.events = append(s.events, batch...)
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *v1Server) received() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

func always(code int) func(int) int { return func(int) int { return code } }

func sdkCounter(t *testing.T, h *harness, name string) int64 {
	t.Helper()
	var total int64
	for _, sm := range h.collect(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					total += dp.Value
				}
			}
		}
	}
	return total
}

func TestSidecarSendsCanonicalEvents(t *testing.T) {
	srv := newV1Server(t, always(http.StatusOK))
	h := newHarness(t, WithSidecar(srv.URL+"/"), WithSidecarInterval(time.Hour), WithAppID("5f1e2d3c-0000-4000-8000-000000000001"))
	ctx, job := h.m.StartJob(context.Background(), "lot-4711", WithID(jobUUID), WithExpectedSubjobs(2))
	_, sub := h.m.StartSubjob(ctx, "wafer-07", WithID(subjobUUID))
	sub.Progress(3, 4, "exposing")
	sub.RecordMetric("defects", 2)
	sub.Fail(errors.New("chuck vacuum lost"))
	job.End()
	if err := h.m.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	got := srv.received()
	if len(got) != 6 {
		t.Fatalf("%d events, want 6: %v", len(got), got)
	}
	if srv.paths[0] != "/v1/events/batch" {
		t.Errorf("posted to %s", srv.paths[0])
	}
	first := got[0]
	if first["site_id"] != "fab1" || first["idempotency_key"] == "" {
		t.Errorf("envelope %v", first)
	}
	app := first["app"].(map[string]any)
	if app["name"] != "litho" || app["version"] != "1.4.2" || app["app_id"] != "5f1e2d3c-0000-4000-8000-000000000001" {
		t.Errorf("app %v", app)
	}
	ent := first["entity"].(map[string]any)
	if ent["type"] != "job" || ent["id"] != jobUUID || ent["parent_id"] != nil || ent["business_key"] != "lot-4711" || ent["sub_key"] != nil {
		t.Errorf("job entity %v", ent)
	}
	ev := first["event"].(map[string]any)
	if ev["kind"] != "started" || ev["status"] != "running" || ev["at"] != "2025-10-19T12:00:00Z" ||
		ev["metadata"].(map[string]any)["expected_subjobs"] != 2.0 {
		t.Errorf("started event %v", ev)
	}
	prog := got[2]["event"].(map[string]any)
	md := prog["metadata"].(map[string]any)
	if prog["kind"] != "progress" || md["done"] != 3.0 || md["total"] != 4.0 || md["fraction"] != 0.75 || md["message"] != "exposing" {
		t.Errorf("progress event %v", prog)
	}
	subEnt := got[4]["entity"].(map[string]any)
	if subEnt["parent_id"] != jobUUID || subEnt["sub_key"] != "wafer-07" {
		t.Errorf("subjob entity %v", subEnt)
	}
	fail := got[4]["event"].(map[string]any)
	metrics := fail["metrics"].(map[string]any)
	if fail["kind"] != "error" || fail["status"] != "failed" || fail["metadata"].(map[string]any)["error"] != "chuck vacuum lost" {
		t.Errorf("error event %v", fail)
	}
	for _, k := range []string{semconv.MetricKeyDurationS, semconv.MetricKeyCPUUserS, semconv.MetricKeyCPUSystemS, semconv.MetricKeyMemMaxMB, "defects"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("error event without metric %s: %v", k, metrics)
		}
	}
	keys := map[any]bool{}
	for _, e := range got {
		keys[e["idempotency_key"]] = true
	}
	if len(keys) != len(got) {
		t.Error("idempotency keys repeat")
	}
}

func TestSidecarRetriesUnavailable(t *testing.T) {
	srv := newV1Server(t, func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	h := newHarness(t, WithSidecar(srv.URL), WithSidecarInterval(time.Hour))
	h.m.sidecar.retryDelay = time.Millisecond
	_, job := h.m.StartJob(context.Background(), "lot")
	job.End()
	if err := h.m.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.received()); n != 2 {
		t.Errorf("%d events after a retry, want 2", n)
	}
	if n := sdkCounter(t, h, semconv.MetricSDKEventsFailed); n != 0 {
		t.Errorf("%d failed", n)
	}
}

func TestSidecarCountsRefusedAndUnreachable(t *testing.T) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	refusing := newV1Server(t, always(http.StatusUnprocessableEntity))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for name, url := range map[string]string{"refused": refusing.URL, "unreachable": gone.URL} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, WithSidecar(url), WithSidecarInterval(time.Hour))
			h.m.sidecar.retryDelay = time.Millisecond
			_, job := h.m.StartJob(context.Background(), "lot")
			job.End()
			if err := h.m.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := sdkCounter(t, h, semconv.MetricSDKEventsFailed); n != 2 {
				t.Errorf("%d failed, want 2", n)
			}
		})
	}
	if n := refusing.count.Load(); n != 1 {
		t.Errorf("a refused batch was sent %d times, want once", n)
	}
}

func TestSidecarFullQueueDropsWithoutBlocking(t *testing.T) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer once.Do(func() { close(release) })
	h := newHarness(t, WithSidecar(srv.URL), WithSidecarQueue(4), WithSidecarInterval(time.Millisecond))
	for range 50 {
		_, job := h.m.StartJob(context.Background(), "lot")
		job.End()
	}
	if n := sdkCounter(t, h, semconv.MetricSDKEventsDropped); n == 0 {
		t.Error("nothing dropped with a stuck receiver and a queue of 4")
	}
	if n := len(h.ended()); n != 50 {
		t.Errorf("%d spans, want 50: a stuck receiver must not hold jobs up", n)
	}
	once.Do(func() { close(release) })
}
