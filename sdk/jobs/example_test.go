package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sort"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/wafermonitor/wafermonitor/sdk/jobs"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// printSpans prints the ended spans, sorted by name, with their status.
func printSpans(rec *tracetest.SpanRecorder) {
	spans := rec.Ended()
	sort.Slice(spans, func(i, j int) bool { return spans[i].Name() < spans[j].Name() })
	for _, s := range spans {
		var status string
		for _, kv := range s.Attributes() {
			if kv.Key == semconv.AttrStatus {
				status = kv.Value.AsString()
			}
		}
		fmt.Printf("%-22s %s\n", s.Name(), status)
	}
}

// A job that runs its subjobs one after the other, with an application's own
// TracerProvider.
func Example() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(jobs.NewIDGenerator()))
	mon := jobs.NewMonitor(jobs.WithTracerProvider(tp), jobs.WithSite("fab1"), jobs.WithService("litho", "1.4.2"))

	ctx, lot := mon.StartJob(context.Background(), "lot-4711", jobs.WithExpectedSubjobs(3))
	for i, wafer := range []string{"wafer-01", "wafer-02", "wafer-03"} {
		_ = mon.RunSubjob(ctx, wafer, func(ctx context.Context, sub *jobs.Job) error {
			if wafer == "wafer-02" {
				return errors.New("chuck vacuum lost")
			}
			return nil
		})
		lot.Progress(i+1, 3, wafer)
	}
	lot.End()

	_ = mon.Shutdown(context.Background()) // writes what is queued; then shut down the providers
	printSpans(rec)
	// Output:
	// job lot-4711           succeeded
	// subjob lot-4711/wafer-01 succeeded
	// subjob lot-4711/wafer-02 failed
	// subjob lot-4711/wafer-03 succeeded
}

// The job's UUID is its trace ID, so the spans join whatever older clients
// report for the same job.
func ExampleNewIDGenerator() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(jobs.NewIDGenerator()))
	mon := jobs.NewMonitor(jobs.WithTracerProvider(tp))

	ctx, job := mon.StartJob(context.Background(), "lot-4711", jobs.WithID("a1b2c3d4-0000-4000-8000-000000000001"))
	_, sub := mon.StartSubjob(ctx, "wafer-07")
	sub.End()
	job.End()

	fmt.Println("job trace ID:   ", job.SpanContext().TraceID())
	fmt.Println("job span ID:    ", job.SpanContext().SpanID())
	fmt.Println("subjob trace ID:", sub.SpanContext().TraceID())
	// Output:
	// job trace ID:    a1b2c3d4000040008000000000000001
	// job span ID:     1ee3d8964f7a219c
	// subjob trace ID: a1b2c3d4000040008000000000000001
}

// A panic in a job is recorded as a failure, and the panic goes on.
func ExampleRunJob() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(jobs.NewIDGenerator()))
	mon := jobs.NewMonitor(jobs.WithTracerProvider(tp))

	func() {
		defer func() { fmt.Println("recovered:", recover()) }()
		_ = mon.RunJob(context.Background(), "lot-13", func(ctx context.Context, job *jobs.Job) error {
			panic("tool jammed")
		})
	}()
	_ = mon.Shutdown(context.Background())
	printSpans(rec)
	// Output:
	// recovered: tool jammed
	// job lot-13             failed
}

// bodies prints the body of every log record.
type bodies struct{}

func (bodies) OnEmit(_ context.Context, r *sdklog.Record) error {
	fmt.Println(r.EventName(), "|", r.Body().AsString())
	return nil
}
func (bodies) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (bodies) Shutdown(context.Context) error                         { return nil }
func (bodies) ForceFlush(context.Context) error                       { return nil }

// Lifecycle events are log records emitted as they happen, so a job is
// visible while it runs.
func ExampleJob_Progress() {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(bodies{}))
	mon := jobs.NewMonitor(jobs.WithLoggerProvider(lp))

	_, job := mon.StartJob(context.Background(), "lot-4711", jobs.WithID("a1b2c3d4-0000-4000-8000-000000000001"))
	job.Progress(7, 25, "exposing")
	job.RecordMetric("defects", 2)
	job.Cancel()
	_ = mon.Shutdown(context.Background()) // writes the queued events
	// Output:
	// wafer.job.started | job a1b2c3d4-0000-4000-8000-000000000001 started
	// wafer.job.progress | job a1b2c3d4-0000-4000-8000-000000000001 progress: 7/25 exposing
	// wafer.job.metric | job a1b2c3d4-0000-4000-8000-000000000001 metric: defects=2
	// wafer.job.canceled | job a1b2c3d4-0000-4000-8000-000000000001 canceled: canceled
}

// Setup builds OTLP exporters from the environment and returns the function
// that flushes them; the package-level functions then use them.
func ExampleSetup() {
	ctx := context.Background()
	shutdown, err := jobs.Setup(ctx, jobs.WithService("litho-scheduler", "1.4.2"), jobs.WithSite("fab1"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	}()

	err = jobs.RunJob(ctx, "lot-4711", func(ctx context.Context, lot *jobs.Job) error {
		return jobs.RunSubjob(ctx, "wafer-07", func(ctx context.Context, wafer *jobs.Job) error {
			return nil // the work
		})
	})
	if err != nil {
		log.Print(err)
	}
}
