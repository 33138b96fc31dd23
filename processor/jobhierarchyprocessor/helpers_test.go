package jobhierarchyprocessor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// base is the time every test scenario starts at.
var base = time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)

// Entity IDs of the scenarios.
const (
	jobA  = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	jobB  = "b1b2c3d4-e5f6-4789-8abc-def012345678"
	subA1 = "a1000000-0000-4000-8000-000000000001"
	subA2 = "a1000000-0000-4000-8000-000000000002"
	subA3 = "a1000000-0000-4000-8000-000000000003"
	subB1 = "b1000000-0000-4000-8000-000000000001"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig is the default configuration with a check interval long
// enough that the real ticker never fires during a test: the tests tick.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.CheckInterval = time.Hour
	return cfg
}

// harness is one processor serving a traces and a logs pipeline, with sinks
// behind it and a fake clock.
type harness struct {
	t      testing.TB
	h      *hierarchy
	traces processor.Traces
	logs   processor.Logs
	mets   processor.Metrics
	tsink  *consumertest.TracesSink
	lsink  *consumertest.LogsSink
	msink  *consumertest.MetricsSink
	clock  *fakeClock
	tel    *componenttest.Telemetry
}

func newHarness(t testing.TB, cfg *Config, host component.Host) *harness {
	t.Helper()
	return newHarnessAt(t, cfg, host, base)
}

// newHarnessAt is newHarness with the clock at start when the processor
// starts (and restores its state).
func newHarnessAt(t testing.TB, cfg *Config, host component.Host, start time.Time) *harness {
	t.Helper()
	hs := &harness{t: t, tsink: new(consumertest.TracesSink), lsink: new(consumertest.LogsSink), msink: new(consumertest.MetricsSink), clock: &fakeClock{t: start}}
	hs.tel = componenttest.NewTelemetry()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = hs.tel.NewTelemetrySettings()
	f := NewFactory()
	var err error
	hs.traces, err = f.CreateTraces(context.Background(), set, cfg, hs.tsink)
	require.NoError(t, err)
	hs.logs, err = f.CreateLogs(context.Background(), set, cfg, hs.lsink)
	require.NoError(t, err)
	hs.mets, err = f.CreateMetrics(context.Background(), set, cfg, hs.msink)
	require.NoError(t, err)
	hs.h = mustShared(t, cfg)
	hs.h.now = hs.clock.now
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, hs.traces.Start(context.Background(), host))
	require.NoError(t, hs.logs.Start(context.Background(), host))
	require.NoError(t, hs.mets.Start(context.Background(), host))
	t.Cleanup(func() { hs.shutdown() })
	return hs
}

func (hs *harness) shutdown() {
	require.NoError(hs.t, hs.traces.Shutdown(context.Background()))
	require.NoError(hs.t, hs.logs.Shutdown(context.Background()))
	require.NoError(hs.t, hs.mets.Shutdown(context.Background()))
	_ = hs.tel.Shutdown(context.Background())
}

func (hs *harness) consumeTraces(td ptrace.Traces) {
	require.NoError(hs.t, hs.traces.ConsumeTraces(context.Background(), td))
}

func (hs *harness) consumeLogs(ld plog.Logs) {
	require.NoError(hs.t, hs.logs.ConsumeLogs(context.Background(), ld))
}

func (hs *harness) tick() { hs.h.tick(context.Background()) }

// allTraces and allLogs merge what reached the sinks, in order.
func (hs *harness) allTraces() ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range hs.tsink.AllTraces() {
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		cp.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

func (hs *harness) allLogs() plog.Logs {
	out := plog.NewLogs()
	for _, ld := range hs.lsink.AllLogs() {
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		cp.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

// Builders of input data shaped like the wafermonitor receiver's output.

const receiverScope = "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

func fillResource(res pcommon.Resource) {
	attrs := res.Attributes()
	attrs.PutStr(semconv.AttrServiceName, "litho-scheduler")
	attrs.PutStr(semconv.AttrServiceVersion, "1.4.2")
	attrs.PutStr(semconv.AttrSiteID, "fab1")
	attrs.PutStr(semconv.AttrAppID, "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
}

func newSpans() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	fillResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(receiverScope)
	return td, ss.Spans()
}

type spanSpec struct {
	typ, id, parent, bk, sk, status string
	end                             time.Time
	metrics                         map[string]float64
	expected                        int64
}

func addSpan(spans ptrace.SpanSlice, s spanSpec) {
	span := spans.AppendEmpty()
	ref := entity.Ref{Type: s.typ, ID: s.id, ParentID: s.parent, BusinessKey: s.bk, SubKey: s.sk}
	id, _ := idsOf(ref)
	span.SetTraceID(id.TraceID)
	span.SetSpanID(id.SpanID)
	if id.ParentSpanID != ([8]byte{}) {
		span.SetParentSpanID(id.ParentSpanID)
	}
	span.SetName(ref.SpanName())
	if s.typ == semconv.EntityTypeJob {
		span.SetKind(ptrace.SpanKindServer)
	} else {
		span.SetKind(ptrace.SpanKindInternal)
	}
	start := s.end
	if d, ok := s.metrics[semconv.MetricKeyDurationS]; ok {
		start = s.end.Add(-time.Duration(d * float64(time.Second)))
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(s.end))
	attrs := span.Attributes()
	ref.PutAttributes(attrs, s.status)
	for _, k := range []string{semconv.MetricKeyDurationS, semconv.MetricKeyCPUUserS, semconv.MetricKeyCPUSystemS, semconv.MetricKeyMemMaxMB} {
		if v, ok := s.metrics[k]; ok {
			attrs.PutDouble(semconv.MetricPrefix+k, v)
		}
	}
	if s.expected > 0 {
		attrs.PutInt(semconv.AttrExpectedSubjobs, s.expected)
	}
	if o := semconv.OutcomeOf(s.status); o != "" {
		attrs.PutStr(semconv.AttrOutcome, o)
	}
	switch s.status {
	case semconv.StatusFailed:
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(s.status)
	case semconv.StatusSucceeded:
		span.Status().SetCode(ptrace.StatusCodeOk)
	}
}

func newRecords() (plog.Logs, plog.LogRecordSlice) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	fillResource(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(receiverScope)
	return ld, sl.LogRecords()
}

type recordSpec struct {
	typ, id, parent, bk, sk, kind, status string
	at                                    time.Time
	expected                              int64
}

func addRecord(records plog.LogRecordSlice, r recordSpec) {
	lr := records.AppendEmpty()
	ref := entity.Ref{Type: r.typ, ID: r.id, ParentID: r.parent, BusinessKey: r.bk, SubKey: r.sk}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(r.at))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.at))
	lr.SetEventName(semconv.EventName(r.typ, r.kind))
	id, _ := idsOf(ref)
	lr.SetTraceID(id.TraceID)
	lr.SetSpanID(id.SpanID)
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Body().SetStr(r.typ + " " + r.id + " " + r.kind + ": " + r.status)
	attrs := lr.Attributes()
	ref.PutAttributes(attrs, r.status)
	attrs.PutStr(semconv.AttrEventKind, r.kind)
	attrs.PutStr(semconv.AttrIdempotencyKey, r.id+":"+r.kind)
	if r.expected > 0 {
		attrs.PutInt(semconv.AttrExpectedSubjobs, r.expected)
	}
}

func mustUUID(t testing.TB, s string) ids.UUID {
	t.Helper()
	ref := entity.Ref{Type: semconv.EntityTypeJob, ID: s}
	id, ok := idsOf(ref)
	require.True(t, ok)
	return ids.UUID(id.TraceID)
}

type consumertestTracesSink = consumertest.TracesSink

func processortestSettings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }

func pcommonTimestamp(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// mustShared returns the hierarchy the factory made for cfg.
func mustShared(t testing.TB, cfg *Config) *hierarchy {
	t.Helper()
	h, ok := hierarchies.Load(cfg)
	if !ok {
		t.Fatal("no hierarchy was made for this configuration")
	}
	return h
}

// keys returns a table's keys in the order of each.
func (t *table[V]) keys() []string {
	out := make([]string, 0, len(t.rows))
	t.each(func(key string, _ V) { out = append(out, key) })
	return out
}
