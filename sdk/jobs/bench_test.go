package jobs

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }

// benchProviders are set up as Setup sets them up, with exporters that
// discard: what is measured is the cost in the application's goroutine.
func benchProviders(b *testing.B) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider, *sdklog.LoggerProvider) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithIDGenerator(NewIDGenerator()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(discardLogs{})))
	b.Cleanup(func() {
		ctx := context.Background()
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
		_ = lp.Shutdown(ctx)
	})
	return tp, mp, lp
}

// BenchmarkBareSpan is the baseline: one span started and ended.
func BenchmarkBareSpan(b *testing.B) {
	tp, _, _ := benchProviders(b)
	tracer := tp.Tracer("bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, span := tracer.Start(ctx, "job lot-4711")
		span.End()
	}
}

// BenchmarkSpanWithJobAttributes is a span with the attributes of a job's
// span (6 at start, 8 at end), without the SDK: the share of the cost that
// is the tracing SDK's own handling of attributes.
func BenchmarkSpanWithJobAttributes(b *testing.B) {
	tp, _, _ := benchProviders(b)
	tracer := tp.Tracer("bench")
	ctx := context.Background()
	start := []attribute.KeyValue{
		attribute.String(semconv.AttrEntityType, "job"), attribute.String(semconv.AttrEntityID, "a1b2c3d4-0000-4000-8000-000000000001"),
		attribute.String(semconv.AttrBusinessKey, "lot-4711"), attribute.String("a", "b"), attribute.String("c", "d"), attribute.String("e", "f"),
	}
	end := []attribute.KeyValue{
		attribute.String(semconv.AttrStatus, "succeeded"), attribute.String(semconv.AttrOutcome, "success"),
		attribute.Float64(semconv.AttrDurationS, 1), attribute.Float64(semconv.AttrCPUUserS, 1), attribute.Float64(semconv.AttrCPUSystemS, 1),
		attribute.Float64(semconv.AttrMemMaxMB, 1), attribute.Float64("g", 1), attribute.Float64("h", 1),
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, span := tracer.Start(ctx, "job lot-4711", trace.WithAttributes(start...))
		span.SetAttributes(end...)
		span.End()
	}
}

func benchJob(b *testing.B, opts ...Option) {
	tp, mp, lp := benchProviders(b)
	m := NewMonitor(append([]Option{WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp),
		WithSite("fab1"), WithService("bench", "1")}, opts...)...)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, job := m.StartJob(ctx, "lot-4711")
		job.End()
	}
}

// BenchmarkJob is a job started and ended with everything on: span with its
// attributes, CPU and memory measurements, started and finished log records,
// metrics.
func BenchmarkJob(b *testing.B) { benchJob(b) }

// BenchmarkJobFreshSamples samples the process at every start and end.
func BenchmarkJobFreshSamples(b *testing.B) { benchJob(b, WithSampleMaxAge(0)) }

// BenchmarkJobSpanOnly records the span and its measurements but no log
// records and no metrics (no-op providers).
func BenchmarkJobSpanOnly(b *testing.B) {
	benchJob(b, WithMeterProvider(metricnoop.NewMeterProvider()), WithLoggerProvider(lognoop.NewLoggerProvider()))
}

// BenchmarkSubjob is a subjob under a running job.
func BenchmarkSubjob(b *testing.B) {
	tp, mp, lp := benchProviders(b)
	m := NewMonitor(WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp), WithSite("fab1"))
	ctx, job := m.StartJob(context.Background(), "lot-4711")
	defer job.End()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, sub := m.StartSubjob(ctx, "wafer-07")
		sub.End()
	}
}

// BenchmarkProgress is one progress report.
func BenchmarkProgress(b *testing.B) {
	tp, mp, lp := benchProviders(b)
	m := NewMonitor(WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp))
	_, job := m.StartJob(context.Background(), "lot-4711")
	defer job.End()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		job.Progress(i, b.N, "exposing")
	}
}
