package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const (
	jobUUID    = "a1b2c3d4-0000-4000-8000-000000000001"
	subjobUUID = "c3a9e1f0-0000-4000-8000-00000000002a"
)

func mustUUID(t testing.TB, s string) UUID {
	t.Helper()
	u, err := ParseUUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestJobAndSubjobSpans(t *testing.T) {
	h := newHarness(t)
	ctx, job := h.m.StartJob(context.Background(), "lot-4711", WithID(jobUUID), WithExpectedSubjobs(1),
		WithAttributes(attribute.String("recipe", "r7")))
	h.clock.set(h.clock.now().Add(2 * time.Second))
	_, sub := h.m.StartSubjob(ctx, "wafer-07", WithID(subjobUUID))
	h.clock.set(h.clock.now().Add(3 * time.Second))
	sub.End()
	job.End()

	jobSpan := h.span(t, "job lot-4711")
	subSpan := h.span(t, "subjob lot-4711/wafer-07")

	want := ids.ForSubjob(mustUUID(t, subjobUUID), mustUUID(t, jobUUID), true)
	if got := jobSpan.SpanContext().TraceID(); got != trace.TraceID(want.TraceID) {
		t.Errorf("job trace ID = %s, want the job UUID", got)
	}
	if got := jobSpan.SpanContext().SpanID(); got != trace.SpanID(want.ParentSpanID) {
		t.Errorf("job span ID = %s, want %x", got, want.ParentSpanID)
	}
	if jobSpan.Parent().IsValid() {
		t.Errorf("job span has a parent: %v", jobSpan.Parent())
	}
	if got := subSpan.SpanContext().TraceID(); got != trace.TraceID(want.TraceID) {
		t.Errorf("subjob trace ID = %s", got)
	}
	if got := subSpan.SpanContext().SpanID(); got != trace.SpanID(want.SpanID) {
		t.Errorf("subjob span ID = %s, want %x", got, want.SpanID)
	}
	if got := subSpan.Parent().SpanID(); got != trace.SpanID(want.ParentSpanID) {
		t.Errorf("subjob parent span ID = %s, want the job's", got)
	}
	if jobSpan.SpanKind() != trace.SpanKindServer || subSpan.SpanKind() != trace.SpanKindInternal {
		t.Errorf("kinds = %v, %v; want server, internal", jobSpan.SpanKind(), subSpan.SpanKind())
	}
	if got := subSpan.EndTime().Sub(subSpan.StartTime()); got != 3*time.Second {
		t.Errorf("subjob span lasted %s, want 3s", got)
	}

	ja, sa := spanAttrs(jobSpan), spanAttrs(subSpan)
	for _, c := range []struct {
		attrs map[attribute.Key]attribute.Value
		key   string
		want  any
	}{
		{ja, semconv.AttrEntityType, "job"},
		{ja, semconv.AttrEntityID, jobUUID},
		{ja, semconv.AttrBusinessKey, "lot-4711"},
		{ja, semconv.AttrStatus, "succeeded"},
		{ja, semconv.AttrOutcome, "success"},
		{ja, semconv.AttrExpectedSubjobs, int64(1)},
		{ja, semconv.AttrDurationS, 5.0},
		{ja, "recipe", "r7"},
		{sa, semconv.AttrEntityType, "subjob"},
		{sa, semconv.AttrEntityID, subjobUUID},
		{sa, semconv.AttrParentID, jobUUID},
		{sa, semconv.AttrBusinessKey, "lot-4711"},
		{sa, semconv.AttrSubKey, "wafer-07"},
		{sa, semconv.AttrDurationS, 3.0},
	} {
		v, ok := c.attrs[attribute.Key(c.key)]
		if !ok || v.AsInterface() != c.want {
			t.Errorf("attribute %s = %v (present %v), want %v", c.key, v.AsInterface(), ok, c.want)
		}
	}
	for _, key := range []string{semconv.AttrCPUUserS, semconv.AttrCPUSystemS, semconv.AttrMemMaxMB} {
		v, ok := sa[attribute.Key(key)]
		if !ok || v.AsFloat64() < 0 {
			t.Errorf("measurement %s = %v (present %v)", key, v.AsFloat64(), ok)
		}
	}
	if sa[semconv.AttrMemMaxMB].AsFloat64() <= 0 {
		t.Errorf("peak memory %v MiB, want a positive sample", sa[semconv.AttrMemMaxMB].AsFloat64())
	}
	if jobSpan.Status().Code != codes.Ok {
		t.Errorf("job span status %v, want Ok", jobSpan.Status())
	}
}

func TestOutcomes(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name       string
		end        func(j *Job, cancel context.CancelFunc)
		status     string
		kind       string
		code       codes.Code
		errType    string
		errMessage string
	}{
		{"End", func(j *Job, _ context.CancelFunc) { j.End() }, "succeeded", "finished", codes.Ok, "", ""},
		{"EndWith nil", func(j *Job, _ context.CancelFunc) { j.EndWith(nil) }, "succeeded", "finished", codes.Ok, "", ""},
		{"Fail", func(j *Job, _ context.CancelFunc) { j.Fail(errBoom) }, "failed", "error", codes.Error, "*errors.errorString", "boom"},
		{"EndWith error", func(j *Job, _ context.CancelFunc) { j.EndWith(fmt.Errorf("exposing: %w", errBoom)) }, "failed", "error", codes.Error, "*fmt.wrapError", "exposing: boom"},
		{"Fail typed", func(j *Job, _ context.CancelFunc) { j.Fail(typedError{}) }, "failed", "error", codes.Error, "ToolDown", "tool down"},
		{"Cancel", func(j *Job, _ context.CancelFunc) { j.Cancel() }, "canceled", "canceled", codes.Unset, "", ""},
		{"End after context canceled", func(j *Job, cancel context.CancelFunc) { cancel(); j.End() }, "canceled", "canceled", codes.Unset, "", "context canceled"},
		{"Fail with context.Canceled", func(j *Job, _ context.CancelFunc) { j.Fail(fmt.Errorf("read: %w", context.Canceled)) }, "canceled", "canceled", codes.Unset, "", "read: context canceled"},
		{"Fail with nil", func(j *Job, _ context.CancelFunc) { j.Fail(nil) }, "failed", "error", codes.Error, "*errors.errorString", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, job := h.m.StartJob(ctx, "lot-1")
			tt.end(job, cancel)
			job.End() // ending twice changes nothing
			job.Fail(errBoom)

			if n := len(h.ended()); n != 1 {
				t.Fatalf("%d spans ended, want 1", n)
			}
			s := h.span(t, "job lot-1")
			a := spanAttrs(s)
			if got := a[semconv.AttrStatus].AsString(); got != tt.status {
				t.Errorf("status %q, want %q", got, tt.status)
			}
			if got := a[semconv.AttrOutcome].AsString(); got != semconv.OutcomeOf(tt.status) {
				t.Errorf("outcome %q", got)
			}
			if s.Status().Code != tt.code {
				t.Errorf("span status %v, want %v", s.Status().Code, tt.code)
			}
			if got := a[semconv.AttrErrorType].AsString(); got != tt.errType {
				t.Errorf("error.type %q, want %q", got, tt.errType)
			}
			if got := a[semconv.AttrErrorMessage].AsString(); got != tt.errMessage {
				t.Errorf("error message %q, want %q", got, tt.errMessage)
			}
			logs := h.logs.all()
			if len(logs) != 2 {
				t.Fatalf("%d log records, want started and one terminal", len(logs))
			}
			if got := logs[1].EventName(); got != "wafer.job."+tt.kind {
				t.Errorf("terminal event %q, want wafer.job.%s", got, tt.kind)
			}
		})
	}
}

type typedError struct{}

func (typedError) Error() string     { return "tool down" }
func (typedError) ErrorType() string { return "ToolDown" }

func TestEndAfterOwnDeadlineIsCanceled(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, job := h.m.StartJob(ctx, "late")
	job.Fail(ctx.Err())
	if got := spanAttrs(h.span(t, "job late"))[semconv.AttrStatus].AsString(); got != semconv.StatusCanceled {
		t.Errorf("status %q, want canceled", got)
	}
}

func TestRunJob(t *testing.T) {
	h := newHarness(t)
	errBad := errors.New("bad wafer")
	err := h.m.RunJob(context.Background(), "lot-2", func(ctx context.Context, job *Job) error {
		if FromContext(ctx) != job {
			t.Error("the context does not carry the job")
		}
		for i := range 3 {
			name := fmt.Sprintf("wafer-%d", i)
			_ = h.m.RunSubjob(ctx, name, func(ctx context.Context, sub *Job) error {
				if i == 1 {
					return errBad
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := spanAttrs(h.span(t, "subjob lot-2/wafer-1"))[semconv.AttrStatus].AsString(); got != "failed" {
		t.Errorf("wafer-1 %q, want failed", got)
	}
	if got := spanAttrs(h.span(t, "subjob lot-2/wafer-2"))[semconv.AttrStatus].AsString(); got != "succeeded" {
		t.Errorf("wafer-2 %q, want succeeded", got)
	}
	err = h.m.RunJob(context.Background(), "lot-3", func(context.Context, *Job) error { return errBad })
	if !errors.Is(err, errBad) {
		t.Errorf("RunJob returned %v, want fn's error", err)
	}
}

func TestRunJobPanics(t *testing.T) {
	h := newHarness(t)
	defer func() {
		r := recover()
		if r != "tool jammed" {
			t.Fatalf("recovered %v, want the original panic value", r)
		}
		s := h.span(t, "job lot-9")
		a := spanAttrs(s)
		if a[semconv.AttrStatus].AsString() != "failed" || a[semconv.AttrErrorType].AsString() != "panic" {
			t.Errorf("attributes %v, want failed with error.type panic", a)
		}
		if s.Status().Description != "panic: tool jammed" {
			t.Errorf("span status %q", s.Status().Description)
		}
	}()
	_ = h.m.RunJob(context.Background(), "lot-9", func(context.Context, *Job) error { panic("tool jammed") })
	t.Fatal("RunJob returned from a panic")
}

func TestRunJobGoexit(t *testing.T) {
	h := newHarness(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.m.RunJob(context.Background(), "lot-x", func(context.Context, *Job) error {
			runtimeGoexit()
			return nil
		})
	}()
	<-done
	if got := spanAttrs(h.span(t, "job lot-x"))[semconv.AttrErrorType].AsString(); got != "runtime.Goexit" {
		t.Errorf("error.type %q, want runtime.Goexit", got)
	}
}

func TestLifecycleLogRecords(t *testing.T) {
	h := newHarness(t)
	ctx, job := h.m.StartJob(context.Background(), "lot-4711", WithID(jobUUID))
	_, sub := h.m.StartSubjob(ctx, "wafer-07", WithID(subjobUUID))
	sub.Progress(7, 25, "exposing")
	sub.ProgressFraction(0.5, "")
	sub.RecordMetric("defects", 3)
	sub.Fail(errors.New("chuck vacuum lost"))
	job.End()

	want := []struct {
		name     string
		severity log.Severity
		body     string
	}{
		{"wafer.job.started", log.SeverityInfo, "job " + jobUUID + " started"},
		{"wafer.subjob.started", log.SeverityInfo, "subjob " + subjobUUID + " started"},
		{"wafer.subjob.progress", log.SeverityInfo, "subjob " + subjobUUID + " progress: 7/25 exposing"},
		{"wafer.subjob.progress", log.SeverityInfo, "subjob " + subjobUUID + " progress: 50.0%"},
		{"wafer.subjob.metric", log.SeverityInfo, "subjob " + subjobUUID + " metric: defects=3"},
		{"wafer.subjob.error", log.SeverityError, "subjob " + subjobUUID + " error: failed: chuck vacuum lost"},
		{"wafer.job.finished", log.SeverityInfo, "job " + jobUUID + " finished: succeeded"},
	}
	logs := h.logs.all()
	if len(logs) != len(want) {
		t.Fatalf("%d log records, want %d", len(logs), len(want))
	}
	subIDs := ids.ForSubjob(mustUUID(t, subjobUUID), mustUUID(t, jobUUID), true)
	for i, w := range want {
		r := logs[i]
		if r.EventName() != w.name || r.Severity() != w.severity || r.Body().AsString() != w.body {
			t.Errorf("record %d = %s %v %q, want %s %v %q", i, r.EventName(), r.Severity(), r.Body().AsString(), w.name, w.severity, w.body)
		}
		if r.TraceID() != trace.TraceID(subIDs.TraceID) {
			t.Errorf("record %d trace ID %s, want the job UUID", i, r.TraceID())
		}
	}
	if logs[2].SpanID() != trace.SpanID(subIDs.SpanID) {
		t.Errorf("progress record span ID %s, want the subjob's", logs[2].SpanID())
	}
	p := recordAttrs(logs[2])
	if p[semconv.AttrProgressDone].AsFloat64() != 7 || p[semconv.AttrProgressTotal].AsFloat64() != 25 ||
		p[semconv.AttrProgressFraction].AsFloat64() != 0.28 || p[semconv.AttrProgressMessage].AsString() != "exposing" {
		t.Errorf("progress attributes %v", p)
	}
	if p[semconv.AttrParentID].AsString() != jobUUID || p[semconv.AttrSubKey].AsString() != "wafer-07" ||
		p[semconv.AttrStatus].AsString() != "running" || p[semconv.AttrIdempotencyKey].AsString() == "" {
		t.Errorf("entity attributes %v", p)
	}
	if got := recordAttrs(logs[4])[semconv.MetricPrefix+"defects"].AsFloat64(); got != 3 {
		t.Errorf("metric record defects = %v", got)
	}
	e := recordAttrs(logs[5])
	if e[semconv.AttrOutcome].AsString() != "failure" || e[semconv.AttrErrorMessage].AsString() != "chuck vacuum lost" ||
		e[semconv.MetricPrefix+"defects"].AsFloat64() != 3 {
		t.Errorf("error record attributes %v", e)
	}
	if _, ok := e[semconv.AttrDurationS]; !ok {
		t.Errorf("terminal record without duration: %v", e)
	}
	if got := spanAttrs(h.span(t, "subjob lot-4711/wafer-07"))[semconv.MetricPrefix+"defects"].AsFloat64(); got != 3 {
		t.Errorf("span wafer.metric.defects = %v", got)
	}
}

func TestSubjobParents(t *testing.T) {
	h := newHarness(t)
	_, job := h.m.StartJob(context.Background(), "lot-5", WithID(jobUUID))
	_, byHandle := h.m.StartSubjob(context.Background(), "by-handle", WithParent(job))
	_, remote := h.m.StartSubjob(context.Background(), "remote", WithParentID(jobUUID), WithBusinessKey("lot-5"))
	_, orphan := h.m.StartSubjob(context.Background(), "orphan", WithID(subjobUUID))
	for _, j := range []*Job{byHandle, remote, orphan, job} {
		j.End()
	}
	jobSC := h.span(t, "job lot-5").SpanContext()
	for _, name := range []string{"subjob lot-5/by-handle", "subjob lot-5/remote"} {
		s := h.span(t, name)
		if s.SpanContext().TraceID() != jobSC.TraceID() || s.Parent().SpanID() != jobSC.SpanID() {
			t.Errorf("%s: trace %s parent %s, want %s %s", name, s.SpanContext().TraceID(), s.Parent().SpanID(), jobSC.TraceID(), jobSC.SpanID())
		}
	}
	o := h.span(t, "subjob orphan")
	if o.Parent().IsValid() || o.SpanContext().TraceID() != trace.TraceID(mustUUID(t, subjobUUID)) {
		t.Errorf("orphan: parent %v trace %s", o.Parent(), o.SpanContext().TraceID())
	}
	if !spanAttrs(o)[semconv.AttrOrphan].AsBool() {
		t.Error("orphan subjob not marked")
	}
}

func TestJobStartsOwnTraceLinkedToCaller(t *testing.T) {
	h := newHarness(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(NewIDGenerator()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	reqCtx, req := tp.Tracer("test").Start(context.Background(), "request")
	ctx, job := h.m.StartJob(reqCtx, "lot-6", WithID(jobUUID))
	// A span the application starts under the job gets an ID of its own.
	_, child := tp.Tracer("test").Start(ctx, "download")
	child.End()
	job.End()
	req.End()

	s := h.span(t, "job lot-6")
	if s.Parent().IsValid() {
		t.Errorf("job has parent %v", s.Parent())
	}
	if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != req.SpanContext().SpanID() {
		t.Errorf("links %v, want one to the request span", s.Links())
	}
	if child.SpanContext().SpanID() == s.SpanContext().SpanID() {
		t.Error("a child span got the job's span ID")
	}
	if child.SpanContext().TraceID() != s.SpanContext().TraceID() {
		t.Error("a child span left the job's trace")
	}
}

func TestProviderWithoutIDGeneratorStillWorks(t *testing.T) {
	var handled []error
	var mu sync.Mutex
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	m := NewMonitor(WithTracerProvider(tp))
	ctx, job := m.StartJob(context.Background(), "lot-7")
	_, sub := m.StartSubjob(ctx, "w")
	sub.End()
	job.End()
	_, job2 := m.StartJob(context.Background(), "lot-8")
	job2.End()
	_ = m.ForceFlush(context.Background())
	if len(rec.Ended()) != 3 {
		t.Fatalf("%d spans", len(rec.Ended()))
	}
	if rec.Ended()[0].Parent().SpanID() != rec.Ended()[1].SpanContext().SpanID() {
		t.Error("the subjob is not the job's child")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 {
		t.Errorf("errors handled: %v, want one warning about the IDGenerator", handled)
	}
}

func TestNilJob(t *testing.T) {
	var j *Job
	j.Progress(1, 2, "")
	j.ProgressFraction(0.1, "")
	j.RecordMetric("x", 1)
	j.SetAttributes(attribute.Int("a", 1))
	j.End()
	j.Fail(errors.New("x"))
	j.Cancel()
	j.EndWith(nil)
	if j.ID() != "" || j.SpanContext().IsValid() {
		t.Error("nil job has an identity")
	}
	if FromContext(context.Background()) != nil {
		t.Error("job from an empty context")
	}
}

type panickingProcessor struct{ sdktrace.SpanProcessor }

func (panickingProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (panickingProcessor) OnEnd(sdktrace.ReadOnlySpan)                     { panic("exporter bug") }
func (panickingProcessor) Shutdown(context.Context) error                  { return nil }
func (panickingProcessor) ForceFlush(context.Context) error                { return nil }

func TestTelemetryPanicStaysInside(t *testing.T) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(panickingProcessor{}))
	logs := &logRecorder{}
	m := NewMonitor(WithTracerProvider(tp), WithLoggerProvider(sdklog.NewLoggerProvider(sdklog.WithProcessor(logs))))
	_, job := m.StartJob(context.Background(), "lot")
	job.End() // must not panic, nor must the event goroutine that ends the span
	_ = m.ForceFlush(context.Background())
	var names []string
	for _, r := range logs.all() {
		names = append(names, r.EventName())
	}
	if len(names) != 2 || names[1] != "wafer.job.finished" {
		t.Errorf("log records %q, want started and finished despite the span processor", names)
	}
}

func TestConcurrentJobs(t *testing.T) {
	h := newHarness(t, WithMemorySampling(time.Millisecond))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, job := h.m.StartJob(context.Background(), fmt.Sprintf("lot-%d", i))
			var inner sync.WaitGroup
			for w := range 10 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					_, sub := h.m.StartSubjob(ctx, fmt.Sprintf("w%d", w))
					sub.Progress(1, 2, "")
					sub.RecordMetric("n", float64(w))
					job.SetAttributes(attribute.Int("last", w))
					job.Progress(w, 10, "")
					sub.End()
					sub.End()
				}()
			}
			inner.Wait()
			job.End()
		}()
	}
	wg.Wait()
	if n := len(h.ended()); n != 88 {
		t.Errorf("%d spans, want 88", n)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	ctx, job := h.m.StartJob(context.Background(), "lot-1")
	_, sub := h.m.StartSubjob(ctx, "w1")
	h.clock.set(h.clock.now().Add(90 * time.Second))
	sub.Fail(errors.New("x"))
	job.End()

	rm := h.collect(t)
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = true
			switch m.Name {
			case semconv.MetricEntityCompleted:
				checkSum(t, m.Data, map[string]int64{"job/succeeded": 1, "subjob/failed": 1})
			case semconv.MetricEvents:
				checkSum(t, m.Data, map[string]int64{"job/started": 1, "subjob/started": 1, "subjob/error": 1, "job/finished": 1})
			case semconv.MetricEntityDuration:
				checkHistogram(t, m.Data, map[string]float64{"job/succeeded": 90, "subjob/failed": 90})
			}
		}
	}
	for _, name := range []string{semconv.MetricEntityCompleted, semconv.MetricEvents, semconv.MetricEntityDuration,
		semconv.MetricEntityCPUUser, semconv.MetricEntityCPUSystem, semconv.MetricEntityMemoryMax} {
		if !found[name] {
			t.Errorf("metric %s not recorded", name)
		}
	}
}

func TestStartAfterShutdown(t *testing.T) {
	h := newHarness(t)
	if err := h.m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, job := h.m.StartJob(context.Background(), "late")
	job.End()
	if len(h.ended()) != 1 {
		t.Error("no span after Shutdown")
	}
}

// Records go through a LoggerProvider that does not look for repeated keys
// (as Setup builds it), so the Monitor keeps the last of the application's
// repeated names itself.
func TestRecordsRepeatNoKey(t *testing.T) {
	h := newHarness(t)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(h.logs), sdklog.WithAllowKeyDuplication())
	m := NewMonitor(WithLoggerProvider(lp), withClock(h.clock.now))
	h.logs.flush = func() { _ = m.ForceFlush(context.Background()) }
	_, job := m.StartJob(context.Background(), "lot", WithAttributes(attribute.String("recipe", "a"), attribute.String("recipe", "b")))
	job.RecordMetric("duration_s", 99)
	job.SetAttributes(attribute.Int("lot.size", 1), attribute.String(semconv.AttrStatus, "mine"))
	job.SetAttributes(attribute.Int("lot.size", 2))
	job.End()
	_ = m.Shutdown(context.Background())
	for _, r := range h.logs.all() {
		seen := map[string]log.Value{}
		r.WalkAttributes(func(kv log.KeyValue) bool {
			if _, dup := seen[kv.Key]; dup {
				t.Errorf("%s: key %s twice", r.EventName(), kv.Key)
			}
			seen[kv.Key] = kv.Value
			return true
		})
		switch r.EventName() {
		case "wafer.job.started":
			if got := seen["recipe"].AsString(); got != "b" {
				t.Errorf("started: recipe = %q, want the last value", got)
			}
		case "wafer.job.finished":
			if seen["lot.size"].AsInt64() != 2 || seen[semconv.AttrDurationS].AsFloat64() != 99 || seen[semconv.AttrStatus].AsString() != "mine" {
				t.Errorf("finished: %v", seen)
			}
		}
	}
}

// The span gets its attributes when the terminal event is written: later
// values win over earlier ones, the Monitor's own over the application's, and
// the span ends at the time End was called.
func TestSpanAttributesInOrder(t *testing.T) {
	h := newHarness(t)
	_, job := h.m.StartJob(context.Background(), "lot", WithAttributes(attribute.String("recipe", "a")))
	job.SetAttributes(attribute.String("recipe", "b"), attribute.String(semconv.AttrStatus, "mine"))
	job.RecordMetric("wafers", 1)
	job.RecordMetric("wafers", 25)
	endAt := h.clock.now()
	h.clock.set(endAt)
	job.End()
	h.clock.set(endAt.Add(time.Hour)) // written later: the span still ends at endAt
	span := h.span(t, "job lot")
	a := spanAttrs(span)
	if got := a["recipe"].AsString(); got != "b" {
		t.Errorf("recipe = %q, want the later value", got)
	}
	if got := a[semconv.MetricPrefix+"wafers"].AsFloat64(); got != 25 {
		t.Errorf("metric = %v, want the last value", got)
	}
	if got := a[semconv.AttrStatus].AsString(); got != semconv.StatusSucceeded {
		t.Errorf("status = %q, want the Monitor's", got)
	}
	if !span.EndTime().Equal(endAt) {
		t.Errorf("span ended at %v, want %v", span.EndTime(), endAt)
	}
	if n := len(span.Attributes()); n != len(a) {
		t.Errorf("%d attributes, %d keys", n, len(a))
	}
}

// A span implementation that panics on its attributes still gets ended.
type panicOnAttrsProvider struct{ trace.TracerProvider }
type panicOnAttrsTracer struct{ trace.Tracer }
type panicOnAttrsSpan struct{ trace.Span }

func (p panicOnAttrsProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return panicOnAttrsTracer{p.TracerProvider.Tracer(name, opts...)}
}

func (t panicOnAttrsTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, span := t.Tracer.Start(ctx, name, opts...)
	return ctx, panicOnAttrsSpan{span}
}

func (panicOnAttrsSpan) SetAttributes(...attribute.KeyValue) { panic("span bug") }

func TestSpanEndsWhenSettingAttributesPanics(t *testing.T) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(NewIDGenerator()))
	logs := &logRecorder{}
	m := NewMonitor(WithTracerProvider(panicOnAttrsProvider{tp}), WithLoggerProvider(sdklog.NewLoggerProvider(sdklog.WithProcessor(logs))))
	_, job := m.StartJob(context.Background(), "lot")
	job.Fail(errors.New("chuck vacuum lost"))
	_ = m.ForceFlush(context.Background())
	if n := len(rec.Ended()); n != 1 {
		t.Fatalf("%d spans ended, want 1", n)
	}
	if got := rec.Ended()[0].Events(); len(got) == 0 || got[0].Name != "exception" {
		t.Errorf("span events %v, want the failure's exception", got)
	}
	if n := len(logs.all()); n != 2 {
		t.Errorf("%d log records, want started and error", n)
	}
}
