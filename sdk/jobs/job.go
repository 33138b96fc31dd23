package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Job is a running job or subjob. Its methods are safe for concurrent use,
// do nothing once it ended (so ending twice is harmless), do nothing on a nil
// *Job, and never fail or panic because of telemetry.
type Job struct {
	m   *Monitor
	ctx context.Context // the context it started with, to see cancellation
	typ int

	id           UUID
	idString     string
	parentString string
	businessKey  string
	subKey       string
	orphan       bool
	expected     int
	hasExpected  bool

	traceID     [16]byte
	spanID      [8]byte
	span        trace.Span
	start       time.Time
	startSample *sample

	mu      sync.Mutex
	peakRSS float64
	metrics []namedValue         // RecordMetric values, repeated on the terminal event
	attrs   []attribute.KeyValue // SetAttributes values, likewise
	ended   atomic.Bool

	ids        ids.Entity
	jobCtx     jobContext
	scratch    jobScratch
	startAttrs []attribute.KeyValue // WithAttributes values
}

func (j *Job) entityType() string { return entityTypes[j.typ] }

func (j *Job) spanName() string {
	name := j.entityType()
	switch {
	case j.businessKey != "" && j.subKey != "":
		return name + " " + j.businessKey + "/" + j.subKey
	case j.businessKey != "":
		return name + " " + j.businessKey
	case j.subKey != "":
		return name + " " + j.subKey
	}
	return name
}

// ID returns the entity's UUID in canonical form; "" on nil.
func (j *Job) ID() string {
	if j == nil {
		return ""
	}
	return j.idString
}

// SpanContext returns the span context of the entity's span.
func (j *Job) SpanContext() trace.SpanContext {
	if j == nil {
		return trace.SpanContext{}
	}
	return j.span.SpanContext()
}

// Progress reports that done of total work units are complete, e.g. 7 of 25
// wafers, with an optional message.
func (j *Job) Progress(done, total int, message string) {
	if total <= 0 {
		j.progress(float64(done), 0, false, 0, message)
		return
	}
	j.progress(float64(done), float64(total), true, float64(done)/float64(total), message)
}

// ProgressFraction reports that a fraction in [0, 1] of the work is
// complete, with an optional message. Values outside are clamped.
func (j *Job) ProgressFraction(fraction float64, message string) {
	j.progress(0, 0, false, min(max(fraction, 0), 1), message)
}

func (j *Job) progress(done, total float64, hasDoneTotal bool, fraction float64, message string) {
	if j == nil || j.ended.Load() {
		return
	}
	defer j.m.recoverTelemetry()
	now := j.m.cfg.now()
	j.samplePeak(now)
	ev := event{job: j, kind: kindProgress, status: semconv.StatusRunning, at: now,
		hasProgress: true, done: done, total: total, hasDoneTotal: hasDoneTotal, fraction: fraction, progressMessage: message}
	if !hasDoneTotal && total == 0 && done != 0 {
		// A count without a total: report the count, no fraction to speak of.
		ev.done, ev.hasDoneTotal, ev.total = done, false, 0
	}
	j.m.events.add(&ev)
}

// RecordMetric records a named measurement of the entity, e.g. "wafers" or
// "defects". It becomes the span attribute wafer.metric.<name> (the last
// value wins) and a metric event right away.
func (j *Job) RecordMetric(name string, value float64) {
	if j == nil || j.ended.Load() || name == "" {
		return
	}
	defer j.m.recoverTelemetry()
	j.mu.Lock()
	replaced := false
	for i := range j.metrics {
		if j.metrics[i].name == name {
			j.metrics[i].value, replaced = value, true
		}
	}
	if !replaced {
		j.metrics = append(j.metrics, namedValue{name, value})
	}
	j.mu.Unlock()
	j.m.events.add(&event{job: j, kind: kindMetric, status: semconv.StatusRunning, at: j.m.cfg.now(),
		metrics: []namedValue{{name, value}}})
}

// SetAttributes adds attributes to the entity's span and terminal event.
// The span gets them when it ends (a later value of a key wins), as it gets
// the entity's own attributes: a span is exported only once it ended.
func (j *Job) SetAttributes(attrs ...attribute.KeyValue) {
	if j == nil || j.ended.Load() {
		return
	}
	j.mu.Lock()
	j.attrs = append(j.attrs, attrs...)
	j.mu.Unlock()
}

// End ends the entity as succeeded, or as canceled when the context it
// started with was canceled (or ran past its deadline) by then. Its span
// ends with this time; the Monitor's event goroutine hands it to the span
// processors along with the terminal event, right away (see
// Monitor.ForceFlush).
func (j *Job) End() {
	if j == nil {
		return
	}
	if err := j.ctx.Err(); err != nil {
		j.fail(semconv.StatusCanceled, "", context.Cause(j.ctx).Error(), nil)
		return
	}
	j.end(semconv.StatusSucceeded, kindFinished, "", "", nil)
}

// Fail ends the entity as failed with err, or as canceled when err is
// context.Canceled or the error of the context it started with.
func (j *Job) Fail(err error) {
	if j == nil {
		return
	}
	if err == nil {
		err = errors.New("failed")
	}
	if j.isCancellation(err) {
		j.fail(semconv.StatusCanceled, "", err.Error(), nil)
		return
	}
	j.fail(semconv.StatusFailed, errorType(err), err.Error(), err)
}

// Cancel ends the entity as canceled.
func (j *Job) Cancel() {
	if j == nil {
		return
	}
	msg := ""
	if j.ctx.Err() != nil {
		msg = context.Cause(j.ctx).Error()
	}
	j.fail(semconv.StatusCanceled, "", msg, nil)
}

// EndWith ends the entity according to err: End when err is nil, else Fail.
// It suits a deferred call with a function's named error result:
//
//	defer func() { job.EndWith(err) }()
func (j *Job) EndWith(err error) {
	if err == nil {
		j.End()
		return
	}
	j.Fail(err)
}

func (j *Job) isCancellation(err error) bool {
	if errors.Is(err, context.Canceled) {
		return true
	}
	cerr := j.ctx.Err()
	return cerr != nil && errors.Is(err, cerr)
}

func (j *Job) endPanic(r any) {
	msg := fmt.Sprint(r)
	var err error
	if e, ok := r.(error); ok {
		err = e
	} else {
		err = errors.New(msg)
	}
	j.fail(semconv.StatusFailed, "panic", "panic: "+msg, err)
}

func (j *Job) fail(status, errType, msg string, err error) {
	kind := kindError
	if status == semconv.StatusCanceled {
		kind = kindCanceled
	}
	j.end(status, kind, errType, msg, err)
}

// errorType names the class of err for error.type: its dynamic type, as
// OpenTelemetry's Go conventions do, unless err says better.
func errorType(err error) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		if t := typed.ErrorType(); t != "" {
			return t
		}
	}
	return fmt.Sprintf("%T", err)
}

func (j *Job) samplePeak(now time.Time) {
	smp := j.m.sampler.take(now)
	if smp.ok {
		j.raisePeak(smp.rss)
	}
}

func (j *Job) raisePeak(rss float64) {
	j.mu.Lock()
	if rss > j.peakRSS {
		j.peakRSS = rss
	}
	j.mu.Unlock()
}

func (j *Job) end(status string, kind int, errType, msg string, err error) {
	if !j.ended.CompareAndSwap(false, true) {
		return
	}
	m := j.m
	defer m.recoverTelemetry()
	if m.active != nil {
		m.activeMu.Lock()
		delete(m.active, j)
		m.activeMu.Unlock()
	}
	now := m.cfg.now()
	if now.Before(j.start) {
		now = j.start
	}
	endSample := m.sampler.take(now)
	ev := event{job: j, kind: kind, status: status, at: now, errType: errType, errMessage: msg,
		terminal: true, durationS: now.Sub(j.start).Seconds()}

	j.mu.Lock()
	peak := j.peakRSS
	if endSample.ok && endSample.rss > peak {
		peak = endSample.rss
	}
	// A new all-time peak of the process reached while the entity ran is
	// the entity's peak, even if no sample caught it.
	if endSample.maxRSS > j.startSample.maxRSS && endSample.maxRSS > peak {
		peak = endSample.maxRSS
	}
	if endSample.ok && j.startSample.ok {
		ev.hasCPU = true
		ev.cpuUser = max(endSample.cpuUser-j.startSample.cpuUser, 0)
		ev.cpuSys = max(endSample.cpuSys-j.startSample.cpuSys, 0)
	}
	ev.hasMemory, ev.memMaxMB = peak > 0, peak
	// RecordMetric changes values in place: the event gets a copy.
	ev.metrics, ev.attrs = slices.Clone(j.metrics), j.attrs
	j.mu.Unlock()

	if err != nil && status == semconv.StatusFailed {
		// Here rather than with the rest of the span in the event goroutine:
		// the error is read while the application still hands it over.
		j.span.RecordError(err, trace.WithTimestamp(now))
	}
	m.events.add(&ev)
}

// endSpan sets the span's attributes and outcome and ends it, at the time
// End was called. The event queue calls it when it writes the terminal
// event, so that a job costs the goroutine that runs it little more than a
// bare span would: the attributes of a span matter only once it ended and is
// exported.
func (j *Job) endSpan(ev *event) {
	// Deferred, so that the span ends even when a span implementation
	// panics on its attributes or status.
	defer j.span.End(trace.WithTimestamp(ev.at))
	// A new slice for each span: the trace API does not promise that a span
	// copies what SetAttributes is given.
	attrs := make([]attribute.KeyValue, 0, 16+len(j.startAttrs)+len(ev.attrs)+len(ev.metrics))
	attrs = append(attrs,
		attribute.String(semconv.AttrEntityType, j.entityType()),
		attribute.String(semconv.AttrEntityID, j.idString),
	)
	attrs = appendEntityAttrs(attrs, j, spanKVs)
	attrs = append(attrs, j.startAttrs...)
	attrs = append(attrs, ev.attrs...)
	for _, mv := range ev.metrics {
		attrs = append(attrs, attribute.Float64(semconv.MetricPrefix+mv.name, mv.value))
	}
	attrs = append(attrs, attribute.String(semconv.AttrStatus, ev.status))
	if o := semconv.OutcomeOf(ev.status); o != "" {
		attrs = append(attrs, attribute.String(semconv.AttrOutcome, o))
	}
	attrs = append(attrs, attribute.Float64(semconv.AttrDurationS, ev.durationS))
	if ev.hasCPU {
		attrs = append(attrs, attribute.Float64(semconv.AttrCPUUserS, ev.cpuUser), attribute.Float64(semconv.AttrCPUSystemS, ev.cpuSys))
	}
	if ev.hasMemory {
		attrs = append(attrs, attribute.Float64(semconv.AttrMemMaxMB, ev.memMaxMB))
	}
	if ev.errType != "" {
		attrs = append(attrs, attribute.String(semconv.AttrErrorType, ev.errType))
	}
	if ev.errMessage != "" {
		attrs = append(attrs, attribute.String(semconv.AttrErrorMessage, ev.errMessage))
	}
	j.span.SetAttributes(attrs...)
	switch ev.status {
	case semconv.StatusSucceeded:
		j.span.SetStatus(codes.Ok, "")
	case semconv.StatusFailed:
		j.span.SetStatus(codes.Error, ev.errMessage)
	}
}

// recoverTelemetry keeps a panic in a provider, exporter or processor out of
// the application.
func (m *Monitor) recoverTelemetry() {
	if r := recover(); r != nil {
		otel.Handle(fmt.Errorf("jobs: recording panicked: %v", r))
	}
}
