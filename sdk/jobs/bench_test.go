package jobs

import (
	"context"
	"runtime"
	"testing"
	"time"

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

// benchProviders are set up as Setup sets them up for the Monitor (batch
// processors; a LoggerProvider that does not look for repeated keys), with
// exporters that discard.
func benchProviders(b *testing.B) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider, *sdklog.LoggerProvider) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithIDGenerator(NewIDGenerator()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(discardLogs{})), sdklog.WithAllowKeyDuplication())
	b.Cleanup(func() {
		ctx := context.Background()
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
		_ = lp.Shutdown(ctx)
	})
	return tp, mp, lp
}

// BenchmarkJobVsSpan is the comparison the SDK is judged by: a job started
// and ended with everything on, against a bare span of the same
// TracerProvider, run in chunks of 64 that take turns going first, so that
// both see the same load on a shared machine. Per operation it reports:
//
//   - ns/job, ns/span, wall-ratio: wall time in the calling goroutine, which
//     on a shared machine includes the time other processes run;
//   - thread-cpu-ns/job, thread-cpu-ns/span, thread-ratio: CPU time of the
//     calling goroutine, locked to its thread: what the code that runs the
//     job pays, with its share of garbage collection assists; what
//     background goroutines do for the span or the job is left out for both;
//   - cpu-ns/job, cpu-ns/span, cpu-ratio: CPU time of the whole process,
//     background goroutines and garbage collection included (the job's
//     queued events are written before its chunk's CPU time is read): all
//     the work a job causes.
//
// allocs/op counts one job and one span together.
func BenchmarkJobVsSpan(b *testing.B) {
	tp, mp, lp := benchProviders(b)
	m := NewMonitor(WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp), WithSite("fab1"), WithService("bench", "1"))
	b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	ctx := context.Background()
	compareWithSpan(b, tp, func() {
		_, job := m.StartJob(ctx, "lot-4711")
		job.End()
	}, func() { _ = m.ForceFlush(ctx) })
}

// BenchmarkSpanVsSpan checks the harness of BenchmarkJobVsSpan: a bare span
// against a bare span, where every ratio should come out near 1.
func BenchmarkSpanVsSpan(b *testing.B) {
	tp, _, _ := benchProviders(b)
	tracer := tp.Tracer("bench")
	ctx := context.Background()
	compareWithSpan(b, tp, func() {
		_, span := tracer.Start(ctx, "job lot-4711")
		span.End()
	}, func() {})
}

// BenchmarkJobAttributesSpanVsSpan is the tracing SDK's share of a job: a
// span given the attributes of a job's span (9, in one call before it ends,
// as the Monitor sets them) against a bare span.
func BenchmarkJobAttributesSpanVsSpan(b *testing.B) {
	tp, _, _ := benchProviders(b)
	tracer := tp.Tracer("bench")
	ctx := context.Background()
	var attrs [9]attribute.KeyValue
	compareWithSpan(b, tp, func() {
		_, span := tracer.Start(ctx, "job lot-4711")
		span.SetAttributes(append(attrs[:0], attribute.String(semconv.AttrEntityType, "job"),
			attribute.String(semconv.AttrEntityID, "a1b2c3d4-0000-4000-8000-000000000001"), attribute.String(semconv.AttrBusinessKey, "lot-4711"),
			attribute.String(semconv.AttrStatus, "succeeded"), attribute.String(semconv.AttrOutcome, "success"),
			attribute.Float64(semconv.AttrDurationS, 1), attribute.Float64(semconv.AttrCPUUserS, 1), attribute.Float64(semconv.AttrCPUSystemS, 1),
			attribute.Float64(semconv.AttrMemMaxMB, 1))...)
		span.End()
	}, func() {})
}

// compareWithSpan runs op and a bare span of tp in chunks of 64, the two
// chunks of each round in alternating order, so that neither gains from
// going first (the background work one leaves, a garbage collection it
// starts). flush runs after each chunk of op, outside its wall and thread
// times but inside its process CPU time. What the batch processors export
// and the garbage collector does later can fall into the next chunk, of
// either side: process CPU is the least exact of the three measures.
func compareWithSpan(b *testing.B, tp trace.TracerProvider, op, flush func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tracer := tp.Tracer("bench")
	ctx := context.Background()
	const chunk = 64
	spans := func() {
		for range chunk {
			_, span := tracer.Start(ctx, "job lot-4711")
			span.End()
		}
	}
	ops := func() {
		for range chunk {
			op()
		}
	}
	// measure runs one chunk and adds its wall, thread and process CPU
	// seconds to totals.
	measure := func(run, after func(), totals *[3]float64) {
		c0, _ := benchProcessCPU()
		r0, _ := threadCPU()
		t0 := time.Now()
		run()
		t1 := time.Now()
		r1, _ := threadCPU()
		after()
		c1, _ := benchProcessCPU()
		totals[0] += t1.Sub(t0).Seconds()
		totals[1] += r1 - r0
		totals[2] += c1 - c0
	}
	var spanT, opT [3]float64 // wall, thread, process
	_, hasThreadCPU := threadCPU()
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for round := 0; done < b.N; round++ {
		if round%2 == 0 {
			measure(spans, func() {}, &spanT)
			measure(ops, flush, &opT)
		} else {
			measure(ops, flush, &opT)
			measure(spans, func() {}, &spanT)
		}
		done += chunk
	}
	b.StopTimer()
	n := float64(done) / 1e9
	b.ReportMetric(opT[0]/n, "ns/job")
	b.ReportMetric(spanT[0]/n, "ns/span")
	b.ReportMetric(opT[0]/spanT[0], "wall-ratio")
	if hasThreadCPU && spanT[1] > 0 {
		b.ReportMetric(opT[1]/n, "thread-cpu-ns/job")
		b.ReportMetric(spanT[1]/n, "thread-cpu-ns/span")
		b.ReportMetric(opT[1]/spanT[1], "thread-ratio")
	}
	b.ReportMetric(opT[2]/n, "cpu-ns/job")
	b.ReportMetric(spanT[2]/n, "cpu-ns/span")
	if spanT[2] > 0 {
		b.ReportMetric(opT[2]/spanT[2], "cpu-ratio")
	}
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
	b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
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

// BenchmarkJobWritingEvents writes the log records and metrics in the
// calling goroutine (WithEventQueue(0)).
func BenchmarkJobWritingEvents(b *testing.B) { benchJob(b, WithEventQueue(0)) }

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
	b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
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
	b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	_, job := m.StartJob(context.Background(), "lot-4711")
	defer job.End()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		job.Progress(i, b.N, "exposing")
	}
}
