package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Version is the version of this package, reported as the instrumentation
// scope's version.
const Version = "0.1.0"

const instrumentationName = "github.com/wafermonitor/wafermonitor/sdk/jobs"

// Monitor starts jobs and subjobs and records them through its providers. It
// is safe for concurrent use. Most applications use the package-level
// functions, which use the default Monitor (see SetDefault and Setup).
type Monitor struct {
	cfg     config
	tracer  trace.Tracer
	logger  log.Logger
	inst    *instruments
	sampler *sampler
	sidecar *sidecar
	events  *eventQueue

	// With background memory sampling, the running entities whose peak the
	// sampler raises.
	activeMu sync.Mutex
	active   map[*Job]struct{}
	stopBg   chan struct{}
	bgDone   chan struct{}

	warnIDs  sync.Once
	shutdown atomic.Bool
}

// NewMonitor returns a Monitor. Call Shutdown when done with it, before
// shutting down the providers: it writes the lifecycle events still queued,
// and stops the goroutines that send v1 events (WithSidecar) or sample memory
// (WithMemorySampling).
func NewMonitor(opts ...Option) *Monitor {
	cfg := newConfig(opts)
	m := &Monitor{
		cfg:     cfg,
		tracer:  cfg.tracerProvider.Tracer(instrumentationName, trace.WithInstrumentationVersion(Version)),
		logger:  cfg.loggerProvider.Logger(instrumentationName, log.WithInstrumentationVersion(Version)),
		inst:    newInstruments(cfg.meterProvider, cfg.site, cfg.serviceName),
		sampler: newSampler(cfg.sampleMaxAge),
	}
	m.events = newEventQueue(m, cfg.eventQueue)
	if cfg.sidecarSet && cfg.sidecarURL != "" {
		m.sidecar = newSidecar(cfg.sidecarURL, cfg.sidecarQueue, cfg.sidecarInterval, m.inst)
	}
	if cfg.memorySampling > 0 {
		m.active = make(map[*Job]struct{})
		m.stopBg = make(chan struct{})
		m.bgDone = make(chan struct{})
		go m.sampleMemory(cfg.memorySampling)
	}
	return m
}

// Shutdown writes the lifecycle events that are still queued (see
// WithEventQueue) and stops the Monitor's goroutines after sending the v1
// events that are still queued. Call it before shutting down the providers.
// Jobs may still be started and ended afterwards; their spans, log records
// and metrics are recorded as before, written by the goroutine that reports
// them, but no v1 events are sent.
func (m *Monitor) Shutdown(ctx context.Context) error {
	if !m.shutdown.CompareAndSwap(false, true) {
		return nil
	}
	m.events.close()
	var err error
	if m.stopBg != nil {
		close(m.stopBg)
		select {
		case <-m.bgDone:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if m.sidecar != nil {
		err = errors.Join(err, m.sidecar.shutdown(ctx))
	}
	return err
}

// ForceFlush writes the lifecycle events that are queued to the providers
// (ending the spans of the entities that ended), then sends the v1 events
// that are queued and waits until they were sent or ctx ends. It does not
// flush the providers: call it before their ForceFlush.
func (m *Monitor) ForceFlush(ctx context.Context) error {
	m.events.flush()
	if m.sidecar == nil {
		return nil
	}
	return m.sidecar.flush(ctx)
}

func (m *Monitor) sampleMemory(interval time.Duration) {
	defer close(m.bgDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stopBg:
			return
		case <-t.C:
			smp := m.sampler.take(m.cfg.now())
			if !smp.ok {
				continue
			}
			m.activeMu.Lock()
			for j := range m.active {
				j.raisePeak(smp.rss)
			}
			m.activeMu.Unlock()
		}
	}
}

// StartJob starts a job: a unit of work that operators follow as a whole.
// businessKey is the application's name for it, e.g. "lot-4711" (may be
// empty). The returned context carries the job, for StartSubjob and
// FromContext, and its span. A context that already carries a span (an
// incoming request, say) does not become the job's parent: the job's UUID is
// its trace ID, so the job starts a trace of its own with a link to that span.
//
// End the job with End, Fail, Cancel or EndWith. If ctx is canceled by then,
// End records the job as canceled.
func (m *Monitor) StartJob(ctx context.Context, businessKey string, opts ...StartOption) (context.Context, *Job) {
	return m.start(ctx, typeJob, businessKey, opts)
}

// StartSubjob starts a subjob: one step of a job, e.g. one wafer of a lot.
// subKey names it within its job, e.g. "wafer-07" (may be empty). Its parent
// is the job in ctx, or the one given by WithParent or WithParentID; with no
// parent at all it is recorded as an orphan. Subjobs can have subjobs: their
// parent is then the innermost one.
func (m *Monitor) StartSubjob(ctx context.Context, subKey string, opts ...StartOption) (context.Context, *Job) {
	return m.start(ctx, typeSubjob, subKey, opts)
}

// RunJob starts a job, calls fn with it and ends it: as failed when fn
// returns an error (canceled when the error is the context's), as failed when
// fn panics (and then panics again with the same value), as succeeded
// otherwise. It returns fn's error.
func (m *Monitor) RunJob(ctx context.Context, businessKey string, fn func(ctx context.Context, job *Job) error, opts ...StartOption) error {
	ctx, job := m.StartJob(ctx, businessKey, opts...)
	return job.run(ctx, fn)
}

// RunSubjob is RunJob for a subjob (see StartSubjob).
func (m *Monitor) RunSubjob(ctx context.Context, subKey string, fn func(ctx context.Context, sub *Job) error, opts ...StartOption) error {
	ctx, sub := m.StartSubjob(ctx, subKey, opts...)
	return sub.run(ctx, fn)
}

func (j *Job) run(ctx context.Context, fn func(ctx context.Context, job *Job) error) (err error) {
	panicking := true
	defer func() {
		if !panicking {
			return
		}
		r := recover()
		if r == nil {
			// runtime.Goexit (t.FailNow, log.Fatal's cousins): nothing to
			// re-panic, but the job did not finish its work.
			j.fail(semconv.StatusFailed, "runtime.Goexit", "the goroutine exited before the job returned", nil)
			return
		}
		j.endPanic(r)
		panic(r)
	}()
	err = fn(ctx, j)
	panicking = false
	j.EndWith(err)
	return err
}

type jobKey struct{}

// FromContext returns the innermost job or subjob that ctx carries, or nil.
// Every method of Job does nothing on nil, so the result can be used as is.
func FromContext(ctx context.Context) *Job {
	j, _ := ctx.Value(jobKey{}).(*Job)
	return j
}

func (m *Monitor) start(ctx context.Context, typ int, key string, opts []StartOption) (retCtx context.Context, retJob *Job) {
	if ctx == nil {
		ctx = context.Background()
	}
	now := m.cfg.now()
	j := &Job{m: m, ctx: ctx, typ: typ, start: now}
	// The options, the span's options and attributes and the contexts live
	// in the Job, which is allocated anyway, so that starting one makes few
	// other allocations.
	sc := &j.scratch.cfg
	defer func() {
		j.scratch.cfg, j.scratch.spanOpts = startConfig{}, [len(j.scratch.spanOpts)]trace.SpanStartOption{}
	}()
	for _, o := range opts {
		o.applyStart(sc)
	}
	if sc.hasID {
		j.id = sc.id
	} else {
		j.id = newUUID(m.cfg.xrayIDs && typ == typeJob, now)
	}
	j.idString = formatUUID(j.id)
	j.hasExpected, j.expected = sc.hasExpected, sc.expected

	defer func() {
		if r := recover(); r != nil {
			// The span could not be started: hand back a job whose span
			// records nothing, so that the application carries on.
			otel.Handle(fmt.Errorf("jobs: starting %s %s panicked: %v", j.entityType(), j.idString, r))
			if j.span == nil {
				j.span = trace.SpanFromContext(context.Background())
			}
			retCtx, retJob = context.WithValue(ctx, jobKey{}, j), j
		}
	}()

	// The parent: explicit, else the context's job. A job has none.
	entityIDs := &j.ids
	spanOpts := j.scratch.spanOpts[:0]
	startCtx := ctx
	if typ == typeJob {
		j.businessKey = key
		*entityIDs = ids.ForJob(j.id)
		spanOpts = append(spanOpts, trace.WithNewRoot(), spanKindServer)
		if outer := trace.SpanContextFromContext(ctx); outer.IsValid() {
			spanOpts = append(spanOpts, trace.WithLinks(trace.Link{SpanContext: outer}))
		}
	} else {
		j.subKey = key
		spanOpts = append(spanOpts, spanKindInternal)
		parent := sc.parent
		if parent == nil && !sc.hasParentID {
			parent = FromContext(ctx)
		}
		switch {
		case parent != nil:
			j.parentString = parent.idString
			j.businessKey = parent.businessKey
			*entityIDs = ids.Entity{TraceID: parent.traceID, SpanID: ids.SpanID(j.id), ParentSpanID: parent.spanID}
			startCtx = trace.ContextWithSpan(ctx, parent.span)
		case sc.hasParentID:
			j.parentString = formatUUID(sc.parentID)
			*entityIDs = ids.ForSubjob(j.id, sc.parentID, true)
			startCtx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    entityIDs.TraceID,
				SpanID:     entityIDs.ParentSpanID,
				TraceFlags: trace.FlagsSampled,
				Remote:     true,
			}))
		default:
			j.orphan = true
			*entityIDs = ids.ForSubjob(j.id, UUID{}, false)
			spanOpts = append(spanOpts, trace.WithNewRoot())
		}
		if sc.hasKey {
			j.businessKey = sc.businessKey
		}
	}
	j.traceID, j.spanID = entityIDs.TraceID, entityIDs.SpanID

	j.startAttrs = sc.attrs
	spanOpts = append(spanOpts, trace.WithTimestamp(now))

	j.scratch.idCtx = idContext{Context: startCtx, ids: entityIDs}
	// The span gets its attributes when it ends (see Job.endSpan); samplers
	// decide on the name and kind.
	_, j.span = m.tracer.Start(&j.scratch.idCtx, j.spanName(), spanOpts...)
	if sc := j.span.SpanContext(); sc.IsValid() && (sc.TraceID() != entityIDs.TraceID || sc.SpanID() != entityIDs.SpanID) {
		m.warnIDs.Do(func() {
			otel.Handle(errors.New("jobs: the TracerProvider does not use jobs.NewIDGenerator, so job spans get random IDs and do not join events reported for the same job by other clients"))
		})
	}

	smp := m.sampler.take(now)
	j.startSample = smp
	if smp.ok {
		j.peakRSS = smp.rss
	}
	if m.active != nil {
		m.activeMu.Lock()
		m.active[j] = struct{}{}
		m.activeMu.Unlock()
	}

	m.events.add(&event{job: j, kind: kindStarted, status: semconv.StatusRunning, at: now, attrs: sc.attrs})
	// Built from the caller's context, not idCtx: spans that the application
	// starts under the job must get IDs of their own.
	j.jobCtx = jobContext{Context: trace.ContextWithSpan(ctx, j.span), job: j}
	return &j.jobCtx, j
}

var (
	spanKindServer   = trace.WithSpanKind(trace.SpanKindServer)
	spanKindInternal = trace.WithSpanKind(trace.SpanKindInternal)
)

// jobScratch holds what starting a Job needs while it starts; the options
// are cleared afterwards, the context stays (a span processor may keep it).
type jobScratch struct {
	cfg      startConfig
	spanOpts [6]trace.SpanStartOption
	idCtx    idContext
}

// idContext carries the IDs of the span being started to the IDGenerator
// (see entityIDsKey).
type idContext struct {
	context.Context
	ids *ids.Entity
}

func (c *idContext) Value(key any) any {
	if key == (entityIDsKey{}) {
		return c.ids
	}
	return c.Context.Value(key)
}

// jobContext is the context that StartJob and StartSubjob return: the
// caller's, with the entity's span and the Job.
type jobContext struct {
	context.Context
	job *Job
}

func (c *jobContext) Value(key any) any {
	if key == (jobKey{}) {
		return c.job
	}
	return c.Context.Value(key)
}

// The default Monitor of the package-level functions.
var defaultMonitor atomic.Pointer[Monitor]

// Default returns the Monitor that the package-level functions use: the one
// given to SetDefault or made by Setup, else one with the global providers
// and the defaults of every option.
func Default() *Monitor {
	if m := defaultMonitor.Load(); m != nil {
		return m
	}
	defaultMonitor.CompareAndSwap(nil, NewMonitor())
	return defaultMonitor.Load()
}

// SetDefault makes m the Monitor of the package-level functions.
func SetDefault(m *Monitor) {
	if m != nil {
		defaultMonitor.Store(m)
	}
}

// StartJob starts a job with the default Monitor; see Monitor.StartJob.
func StartJob(ctx context.Context, businessKey string, opts ...StartOption) (context.Context, *Job) {
	return Default().StartJob(ctx, businessKey, opts...)
}

// StartSubjob starts a subjob with the default Monitor; see Monitor.StartSubjob.
func StartSubjob(ctx context.Context, subKey string, opts ...StartOption) (context.Context, *Job) {
	return Default().StartSubjob(ctx, subKey, opts...)
}

// RunJob runs fn as a job with the default Monitor; see Monitor.RunJob.
func RunJob(ctx context.Context, businessKey string, fn func(ctx context.Context, job *Job) error, opts ...StartOption) error {
	return Default().RunJob(ctx, businessKey, fn, opts...)
}

// RunSubjob runs fn as a subjob with the default Monitor; see Monitor.RunSubjob.
func RunSubjob(ctx context.Context, subKey string, fn func(ctx context.Context, sub *Job) error, opts ...StartOption) error {
	return Default().RunSubjob(ctx, subKey, fn, opts...)
}
