package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// logRecorder keeps every log record in memory.
type logRecorder struct {
	mu      sync.Mutex
	records []sdklog.Record
	flush   func() // writes the Monitor's queued events first
}

func (r *logRecorder) OnEmit(_ context.Context, rec *sdklog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

func (r *logRecorder) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (r *logRecorder) Shutdown(context.Context) error                         { return nil }
func (r *logRecorder) ForceFlush(context.Context) error                       { return nil }

func (r *logRecorder) all() []sdklog.Record {
	if r.flush != nil {
		r.flush()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdklog.Record(nil), r.records...)
}

// fakeClock advances by step on every reading.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func withClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

type harness struct {
	m       *Monitor
	spans   *tracetest.SpanRecorder
	logs    *logRecorder
	metrics *sdkmetric.ManualReader
	clock   *fakeClock
}

func newHarness(t testing.TB, opts ...Option) *harness {
	t.Helper()
	h := &harness{
		spans:   tracetest.NewSpanRecorder(),
		logs:    &logRecorder{},
		metrics: sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(deltaTemporality)),
		clock:   &fakeClock{t: time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)},
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans), sdktrace.WithIDGenerator(NewIDGenerator()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.metrics))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(h.logs))
	base := []Option{
		WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp),
		WithSite("fab1"), WithService("litho", "1.4.2"), withClock(h.clock.now),
	}
	h.m = NewMonitor(append(base, opts...)...)
	h.logs.flush = func() { h.m.events.flush() }
	t.Cleanup(func() {
		ctx := context.Background()
		_ = h.m.Shutdown(ctx)
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
		_ = lp.Shutdown(ctx)
	})
	return h
}

func (h *harness) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	h.m.events.flush()
	var rm metricdata.ResourceMetrics
	if err := h.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// ended returns the ended spans, once the Monitor wrote the events queued so
// far (a span ends when its terminal event is written).
func (h *harness) ended() []sdktrace.ReadOnlySpan {
	h.m.events.flush()
	return h.spans.Ended()
}

func (h *harness) span(t testing.TB, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range h.ended() {
		if s.Name() == name {
			return s
		}
	}
	var names []string
	for _, s := range h.ended() {
		names = append(names, s.Name())
	}
	t.Fatalf("no ended span %q among %q", name, names)
	return nil
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

func recordAttrs(r sdklog.Record) map[string]log.Value {
	out := map[string]log.Value{}
	r.WalkAttributes(func(kv log.KeyValue) bool {
		out[kv.Key] = kv.Value
		return true
	})
	return out
}
