package jobhierarchyprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// syntheticRecords returns the records the processor made itself.
func syntheticRecords(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			if sls.At(j).Scope().Name() != scopeName {
				continue
			}
			for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
				out = append(out, sls.At(j).LogRecords().At(k))
			}
		}
	}
	return out
}

func kinds(records []plog.LogRecord) []string {
	out := make([]string, 0, len(records))
	for _, lr := range records {
		v, _ := lr.Attributes().Get(semconv.AttrEventKind)
		id, _ := lr.Attributes().Get(semconv.AttrEntityID)
		out = append(out, v.Str()+" "+id.Str())
	}
	return out
}

func started(typ, id, parent string, at time.Time) plog.Logs {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: typ, id: id, parent: parent, bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: at})
	return ld
}

func TestSyntheticEventsLookLikeLifecycleEvents(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	hs.lsink.Reset()
	hs.clock.advance(15 * time.Minute)
	hs.tick()

	ld := hs.allLogs()
	require.Equal(t, 1, ld.LogRecordCount())
	rl := ld.ResourceLogs().At(0)
	want := pcommon.NewResource()
	fillResource(want)
	assert.Equal(t, want.Attributes().AsRaw(), rl.Resource().Attributes().AsRaw(), "same resource as the entity's own records")
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "wafer.subjob.stalled", lr.EventName())
	idsWant := ids.ForSubjob(mustUUID(t, subA1), mustUUID(t, jobA), true)
	assert.Equal(t, pcommon.TraceID(idsWant.TraceID), lr.TraceID())
	assert.Equal(t, pcommon.SpanID(idsWant.SpanID), lr.SpanID())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, pcommon.NewTimestampFromTime(base.Add(15*time.Minute)), lr.Timestamp())
	attrs := lr.Attributes().AsRaw()
	assert.Equal(t, semconv.EntityTypeSubjob, attrs[semconv.AttrEntityType])
	assert.Equal(t, subA1, attrs[semconv.AttrEntityID])
	assert.Equal(t, jobA, attrs[semconv.AttrParentID])
	assert.Equal(t, "lot-4711", attrs[semconv.AttrBusinessKey])
	assert.Equal(t, semconv.StatusRunning, attrs[semconv.AttrStatus])
	assert.Equal(t, semconv.KindStalled, attrs[semconv.AttrEventKind])
	assert.InDelta(t, 900.0, attrs[semconv.AttrWatchdogSilenceS], 1e-9)

	// Stalled once, not at every check.
	hs.lsink.Reset()
	hs.clock.advance(time.Minute)
	hs.tick()
	assert.Zero(t, hs.lsink.LogRecordCount())
}

func TestTimeoutGivesUpWithAnErrorSpan(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = time.Hour
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	hs.clock.advance(59 * time.Minute)
	hs.tick()
	require.Zero(t, hs.tsink.SpanCount())
	hs.clock.advance(time.Minute)
	hs.tick()

	require.Equal(t, 1, hs.tsink.SpanCount())
	span := hs.allTraces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	idsWant := ids.ForSubjob(mustUUID(t, subA1), mustUUID(t, jobA), true)
	assert.Equal(t, pcommon.SpanID(idsWant.ParentSpanID), span.ParentSpanID())
	assert.Equal(t, ptrace.StatusCodeError, span.Status().Code())
	assert.Equal(t, ptrace.SpanKindInternal, span.Kind())
	assert.Equal(t, pcommon.NewTimestampFromTime(base), span.StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(base.Add(time.Hour)), span.EndTimestamp())
	assert.Equal(t, semconv.StatusTimedOut, span.Attributes().AsRaw()[semconv.AttrStatus])
	assert.Equal(t, semconv.OutcomeTimeout, span.Attributes().AsRaw()[semconv.AttrOutcome])
	assert.Equal(t, []string{"timeout " + subA1}, kinds(syntheticRecords(hs.allLogs())))

	// Given up: no second timeout, and the entity is gone.
	hs.tick()
	assert.Equal(t, 1, hs.tsink.SpanCount())
	assert.Zero(t, hs.h.entities.len())
}

func TestWatchdogRules(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = 10 * time.Hour
	cfg.Watchdog.Rules = []WatchdogRule{
		{ServiceName: "litho-.*", EntityType: semconv.EntityTypeSubjob, MaxDuration: time.Hour},
		{BusinessKey: "lot-47.*", MaxDuration: 2 * time.Hour},
		{ServiceName: "never", MaxDuration: time.Minute},
	}
	require.NoError(t, cfg.Validate())
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobB, bk: "lot-1", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
	hs.consumeLogs(ld)
	hs.lsink.Reset()

	hs.clock.advance(time.Hour)
	hs.tick()
	assert.Equal(t, []string{"timeout " + subA1}, kinds(syntheticRecords(hs.allLogs())), "the first rule matches the subjob")
	hs.lsink.Reset()
	hs.clock.advance(time.Hour)
	hs.tick()
	assert.Equal(t, []string{"timeout " + jobA}, kinds(syntheticRecords(hs.allLogs())), "the second rule matches job A's business key")
	hs.lsink.Reset()
	hs.clock.advance(8 * time.Hour)
	hs.tick()
	assert.Equal(t, []string{"timeout " + jobB}, kinds(syntheticRecords(hs.allLogs())), "no rule matches job B: the global maximum")
}

func TestUpstreamWatchdogEvents(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeLogs(started(semconv.EntityTypeJob, jobB, "", base))
	hs.clock.advance(10 * time.Minute)
	// Another collector's stalled event is no sign of life...
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobA, kind: semconv.KindStalled, status: semconv.StatusRunning, at: hs.clock.now()})
	// ...and its timeout ends the entity here too.
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobB, kind: semconv.KindTimeout, status: semconv.StatusTimedOut, at: hs.clock.now()})
	hs.consumeLogs(ld)
	hs.lsink.Reset()
	hs.clock.advance(5 * time.Minute)
	hs.tick()
	assert.Equal(t, []string{"stalled " + jobA}, kinds(syntheticRecords(hs.allLogs())))
}

func TestRecordsAndSpansWithoutEntityPassUnchanged(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("an application log line")
	lr.Attributes().PutStr(semconv.AttrEventKind, semconv.KindStarted) // no entity id
	want := plog.NewLogs()
	ld.CopyTo(want)
	hs.consumeLogs(ld)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("GET /")
	wantTraces := ptrace.NewTraces()
	td.CopyTo(wantTraces)
	hs.consumeTraces(td)
	assert.Equal(t, want, hs.allLogs())
	assert.Equal(t, wantTraces, hs.allTraces())
	assert.Zero(t, hs.h.entities.len())
	assert.Zero(t, hs.h.jobs.len())
}

func TestWatchdogDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.Enabled = false
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.clock.advance(48 * time.Hour)
	hs.tick()
	assert.Zero(t, hs.h.entities.len())
	assert.Empty(t, syntheticRecords(hs.allLogs()))
}

func TestLogsPipelineOnly(t *testing.T) {
	// Without a traces pipeline the timeout event still goes out; its span
	// has nowhere to go and is dropped.
	cfg := testConfig()
	cfg.Watchdog.MaxDuration = time.Minute
	sink := new(consumertest.LogsSink)
	lp, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	h := mustShared(t, cfg)
	clock := &fakeClock{t: base}
	h.now = clock.now
	require.NoError(t, lp.ConsumeLogs(context.Background(), started(semconv.EntityTypeJob, jobA, "", base)))
	clock.advance(time.Minute)
	h.tick(context.Background())
	assert.Equal(t, []string{"timeout " + jobA}, kinds(syntheticRecords(sink.AllLogs()[1])))
	require.NoError(t, lp.Shutdown(context.Background()))
}

func TestStateStaysWithinCaps(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOpenEntities = 100
	cfg.MaxJobSummaries = 50
	hs := newHarness(t, cfg, nil)
	const jobs = 5000
	for i := 0; i < jobs; i++ {
		job := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		sub := fmt.Sprintf("10000000-0000-4000-8000-%012d", i)
		ld, records := newRecords()
		addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: job, kind: semconv.KindStarted, status: semconv.StatusRunning, at: base, expected: 3})
		addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: sub, parent: job, kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
		hs.consumeLogs(ld)
		td, spans := newSpans()
		addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: sub, parent: job, status: semconv.StatusSucceeded, end: base})
		hs.consumeTraces(td)
		require.LessOrEqual(t, hs.h.entities.len(), 100)
		require.LessOrEqual(t, hs.h.jobs.len(), 50)
	}
	hs.tick()
	assert.Equal(t, 100, hs.h.entities.len())
	assert.Equal(t, 50, hs.h.jobs.len())
	// Subjobs go before jobs; among jobs, the most recent ones are kept.
	_, ok := hs.h.entities.get(fmt.Sprintf("00000000-0000-4000-8000-%012d", jobs-1))
	assert.True(t, ok)
	_, ok = hs.h.entities.get(fmt.Sprintf("10000000-0000-4000-8000-%012d", jobs-1))
	assert.False(t, ok, "a full table of open jobs holds no subjob")
	_, ok = hs.h.jobs.get(fmt.Sprintf("00000000-0000-4000-8000-%012d", jobs-1))
	assert.True(t, ok)

	evictions := func(table, class, reason string) attribute.Set {
		return attribute.NewSet(attribute.String("table", table), attribute.String("class", class), attribute.String("reason", reason))
	}
	metadatatest.AssertEqualProcessorJobhierarchyEvictions(t, hs.tel, []metricdata.DataPoint[int64]{
		{Attributes: evictions("entities", "subjob", "max_open_entities"), Value: jobs},
		{Attributes: evictions("entities", "job", "max_open_entities"), Value: jobs - 100},
		{Attributes: evictions("job_summaries", "reported", "max_job_summaries"), Value: jobs - 50},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyEntitiesOpen(t, hs.tel, []metricdata.DataPoint[int64]{{Value: 100}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyJobSummaries(t, hs.tel, []metricdata.DataPoint[int64]{{Value: 50}}, metricdatatest.IgnoreTimestamp())
}

func TestWatchdogTelemetry(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = time.Minute
	cfg.Watchdog.MaxDuration = time.Hour
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	hs.clock.advance(time.Minute)
	hs.tick() // both stalled
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, kind: semconv.KindProgress, status: semconv.StatusRunning, at: hs.clock.now()})
	hs.consumeLogs(ld) // subjob recovered
	hs.clock.advance(time.Hour)
	hs.tick() // both time out

	job := attribute.NewSet(attribute.String(semconv.AttrEntityType, semconv.EntityTypeJob))
	subjob := attribute.NewSet(attribute.String(semconv.AttrEntityType, semconv.EntityTypeSubjob))
	metadatatest.AssertEqualProcessorJobhierarchyStalls(t, hs.tel, []metricdata.DataPoint[int64]{{Attributes: job, Value: 1}, {Attributes: subjob, Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyRecoveries(t, hs.tel, []metricdata.DataPoint[int64]{{Attributes: subjob, Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyTimeouts(t, hs.tel, []metricdata.DataPoint[int64]{{Attributes: job, Value: 1}, {Attributes: subjob, Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyJobsRolledUp(t, hs.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String(semconv.AttrJobOutcome, semconv.OutcomeTimeout)), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

func TestLateAndOrphanTelemetry(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeTraces(onlyJobA())
	hs.consumeTraces(lateSubjobOfA())
	hs.consumeTraces(jobBSubjobs())
	hs.clock.advance(10 * time.Minute)
	hs.tick()
	metadatatest.AssertEqualProcessorJobhierarchyLateSubjobs(t, hs.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorJobhierarchyOrphanSubjobs(t, hs.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestSummariesExpire(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeTraces(onlyJobA())
	hs.consumeTraces(jobBSubjobs())
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: "c1b2c3d4-e5f6-4789-8abc-def012345678", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base, expected: 3})
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: "c1b2c3d4-e5f6-4789-8abc-def012345678", kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: base})
	hs.consumeLogs(ld)
	require.Equal(t, 3, hs.h.jobs.len())
	hs.clock.advance(10 * time.Minute)
	hs.tick() // job C's count-only summary goes; job B's orphans are reported
	assert.Equal(t, 2, hs.h.jobs.len())
	hs.clock.advance(50 * time.Minute)
	hs.tick() // job A's late window is over
	assert.Equal(t, 1, hs.h.jobs.len())
	hs.clock.advance(10 * time.Minute)
	hs.tick() // job B's orphan summary is kept a late window after the report
	assert.Zero(t, hs.h.jobs.len())
}

func TestOpenJobHasNoOrphans(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobB, "", base))
	hs.consumeTraces(jobBSubjobs())
	for i := 0; i < 12; i++ {
		hs.clock.advance(time.Minute)
		hs.consumeLogs(func() plog.Logs {
			ld, records := newRecords()
			addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobB, kind: semconv.KindProgress, status: semconv.StatusRunning, at: hs.clock.now()})
			return ld
		}())
		hs.tick()
	}
	assert.Empty(t, syntheticRecords(hs.allLogs()))
}

// TestTimedOutSubjobsCountInTheirJob: a subjob the watchdog gives up is a
// timed-out subjob of its job, also when the job is given up at the same
// check; a later real span of it is not counted again.
func TestTimedOutSubjobsCountInTheirJob(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = time.Hour
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(startedAB())
	hs.clock.advance(time.Hour)
	hs.tick()
	assert.ElementsMatch(t, []string{"timeout " + jobA, "timeout " + subA1}, kinds(syntheticRecords(hs.allLogs())))
	job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
	assert.Equal(t, int64(1), job[semconv.AttrSubjobsTotal])
	assert.Equal(t, int64(1), job[semconv.AttrSubjobsTimedOut])
	assert.Equal(t, semconv.OutcomeTimeout, job[semconv.AttrJobOutcome])
	hs.consumeTraces(finishedA1Span())
	hs.tick()
	assert.Len(t, syntheticRecords(hs.allLogs()), 2, "the real span after the timeout is not counted: no late_subjobs")
}
