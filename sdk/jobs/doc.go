// Package jobs monitors batch jobs and their subjobs as OpenTelemetry
// spans, with the lifecycle events and measurements that wafermonitor's
// collector, its processors and every backend behind it expect.
//
// A job is a unit of work that an operator cares about as a whole, such as a
// lot being processed; a subjob is one step of it, such as a wafer. Both are
// represented by a [Job]:
//
//	ctx, lot := jobs.StartJob(ctx, "lot-4711")
//	defer lot.End()
//	for _, w := range wafers {
//		err := jobs.RunSubjob(ctx, w.Name, func(ctx context.Context, sub *jobs.Job) error {
//			return process(ctx, w)
//		})
//		...
//	}
//
// # What is recorded
//
// Each job or subjob becomes one span. Its trace ID is the job's UUID and
// its span ID is derived from the entity's UUID (package ids), so the spans
// land in the same trace as events that older clients or the v1 API send
// for the same job. The span carries the attributes of package semconv: the
// entity type, ID, parent ID, business and sub key, the final status and
// outcome, and the measurements described below.
//
// Because a span is exported only when it ends, every lifecycle event
// (started, progress, metric, finished, error, canceled) is also emitted as
// it happens: as an OpenTelemetry log record through the LoggerProvider and,
// when [WithSidecar] is given, as a v1 event to the collector's wafermonitor
// receiver or to the old sidecar. A job that runs for hours is therefore
// visible from its first second. The goroutine that reports an event builds
// it and queues it; a background goroutine of the Monitor writes the queued
// events right away and in order (see [WithEventQueue]). It also gives the
// span its attributes and ends it, with the time End was called, when it
// writes the terminal event: a span is seen only once it ended, and so a job
// costs the goroutine that runs it little more than a bare span.
// [Monitor.Shutdown] and [Monitor.ForceFlush] write what is queued; the
// shutdown function of [Setup] calls them before it shuts the providers
// down.
//
// Duration, CPU and memory are recorded as histograms and completions as
// counters through the MeterProvider, with low-cardinality attributes only
// (site, service, entity type, status).
//
// # Measurements
//
// Duration is wall time between start and end. CPU user and system seconds
// are the process's CPU time spent between start and end: they include every
// goroutine of the process, so jobs that run concurrently in one process each
// see the CPU of all of them. Peak memory is the largest resident set size
// sampled at start, on progress and at end (and by the background sampler of
// [WithMemorySampling]); when the process reached a new all-time peak while
// the entity ran, that peak is used, so a short spike between samples is not
// missed. Samples taken within [WithSampleMaxAge] of each other are shared
// between entities, which keeps the cost of many short subjobs low.
//
// # Setup
//
// [Setup] builds tracer, meter and logger providers with OTLP exporters from
// the standard OTEL_* environment variables, registers them globally and
// returns a function that flushes and shuts them down. Applications that
// already have providers pass them with [WithTracerProvider],
// [WithMeterProvider] and [WithLoggerProvider] to [NewMonitor]; their
// TracerProvider should use [NewIDGenerator] so that span IDs follow the
// shared mapping, and they call the Monitor's ForceFlush before their
// providers' ForceFlush and its Shutdown before theirs (with the
// package-level functions, the Monitor is [Default]). The Monitor's log records never repeat a key, so its
// LoggerProvider may be made with sdklog.WithAllowKeyDuplication (as Setup
// does, sharing the processor with the global provider), which saves the
// log SDK's search for repeated keys.
//
// # Failures
//
// Recording never fails the job: nothing in this package returns a telemetry
// error to the caller of a [Job] method or panics in it. Failures go to the
// OpenTelemetry error handler (otel.Handle) and are counted by the
// wafer.sdk.events.dropped and wafer.sdk.events.failed metrics. An
// unreachable collector costs a bounded queue and background retries.
package jobs
