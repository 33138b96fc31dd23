package jobhierarchyprocessor

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func randomUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32N(1<<16), r.Uint32N(1<<12), r.Uint32N(1<<12), r.Uint64N(1<<48))
}

func evictionSet(table, class, reason string) attribute.Set {
	return attribute.NewSet(attribute.String("table", table), attribute.String("class", class), attribute.String("reason", reason))
}

// TestOrphanFloodSparesReportedJobs: 110,000 finished subjobs with random
// parents, with the default caps, while a real job runs whose 3 of 10
// subjobs fail: the flood evicts orphan summaries only, and the real job
// ends failed with every subjob counted.
func TestOrphanFloodSparesReportedJobs(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	r := rand.New(rand.NewPCG(3, 4))
	flood := func(n int) {
		for ; n > 0; n -= 1000 {
			td, spans := newSpans()
			for range 1000 {
				subjobSpan(spans, randomUUID(r), randomUUID(r), semconv.StatusSucceeded, 0)
			}
			hs.consumeTraces(td)
		}
	}
	for i := 0; i < 10; i++ {
		flood(11000)
		td, spans := newSpans()
		status := semconv.StatusSucceeded
		if i%3 == 0 && i > 0 {
			status = semconv.StatusFailed
		}
		subjobSpan(spans, subjobID(i), jobA, status, 1)
		hs.consumeTraces(td)
	}
	td, spans := newSpans()
	jobASpan(spans, semconv.StatusSucceeded, base)
	hs.consumeTraces(td)

	job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
	assert.Equal(t, semconv.OutcomeFailure, job[semconv.AttrJobOutcome])
	assert.Equal(t, int64(10), job[semconv.AttrSubjobsTotal])
	assert.Equal(t, int64(3), job[semconv.AttrSubjobsFailed])
	assert.NotContains(t, job, semconv.AttrJobRollupComplete)
	assert.Equal(t, defaultMaxJobSummaries, hs.h.jobs.len())
	metadatatest.AssertEqualProcessorJobhierarchyEvictions(t, hs.tel, []metricdata.DataPoint[int64]{
		{Attributes: evictionSet("job_summaries", "orphan", "max_job_summaries"), Value: 110000 + 1 - defaultMaxJobSummaries},
	}, metricdatatest.IgnoreTimestamp())
}

// TestEvictedJobIsMarkedIncomplete: when reported jobs alone exceed the cap,
// a job whose summary had to go says so on its span, its late subjobs'
// follow-up and its orphan report, and its outcome still counts the failed
// subjobs seen since.
func TestEvictedJobIsMarkedIncomplete(t *testing.T) {
	cfg := testConfig()
	cfg.MaxJobSummaries = 2
	hs := newHarness(t, cfg, nil)
	for _, job := range []string{jobA, jobB, "c1b2c3d4-e5f6-4789-8abc-def012345678"} {
		hs.consumeLogs(started(semconv.EntityTypeJob, job, "", base))
		td, spans := newSpans()
		subjobSpan(spans, job[:8]+"-0000-4000-8000-000000000001", job, semconv.StatusSucceeded, 1)
		hs.consumeTraces(td)
	}
	_, ok := hs.h.jobs.get(jobA)
	require.False(t, ok, "job A's summary, the least recent, was evicted")

	td, spans := newSpans()
	subjobSpan(spans, subjobID(2), jobA, semconv.StatusFailed, 1)
	jobASpan(spans, semconv.StatusSucceeded, base)
	hs.consumeTraces(td)
	job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
	assert.Equal(t, false, job[semconv.AttrJobRollupComplete])
	assert.Equal(t, int64(1), job[semconv.AttrSubjobsTotal], "only the subjob seen since")
	assert.Equal(t, semconv.OutcomeFailure, job[semconv.AttrJobOutcome])

	// Job B's summary goes after its span passed: a late subjob's follow-up
	// says the roll-ups are incomplete.
	td, spans = newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeJob, id: jobB, status: semconv.StatusSucceeded, end: base})
	hs.consumeTraces(td)
	for _, job := range []string{"d1b2c3d4-e5f6-4789-8abc-def012345678", "e1b2c3d4-e5f6-4789-8abc-def012345678"} {
		hs.consumeLogs(started(semconv.EntityTypeJob, job, "", base))
		td, spans = newSpans()
		subjobSpan(spans, job[:8]+"-0000-4000-8000-000000000001", job, semconv.StatusSucceeded, 1)
		hs.consumeTraces(td)
	}
	_, ok = hs.h.jobs.get(jobB)
	require.False(t, ok)
	td, spans = newSpans()
	subjobSpan(spans, "b1000000-0000-4000-8000-000000000009", jobB, semconv.StatusFailed, 1)
	hs.consumeTraces(td)
	assert.Equal(t, true, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()[semconv.AttrSubjobLate])
	hs.tick()
	late := syntheticRecords(hs.allLogs())
	require.Equal(t, []string{"late_subjobs " + jobB}, kinds(late))
	attrs := late[0].Attributes().AsRaw()
	assert.Equal(t, false, attrs[semconv.AttrJobRollupComplete])
	assert.Equal(t, semconv.OutcomeFailure, attrs[semconv.AttrJobOutcome])
	assert.Equal(t, statusUnknown, attrs[semconv.AttrStatus])
}

// TestStartedFloodSparesOpenJobs: a flood of started subjobs of unknown
// jobs fills the open-entity table; open jobs and their subjobs stay.
func TestStartedFloodSparesOpenJobs(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOpenEntities = 1000
	cfg.Watchdog.StallTimeout = time.Minute
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		ld, records := newRecords()
		for range 1000 {
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: randomUUID(r), parent: randomUUID(r), kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
		}
		hs.consumeLogs(ld)
	}
	assert.Equal(t, classJob, hs.h.entities.classOf(jobA))
	assert.Equal(t, classSubjob, hs.h.entities.classOf(subA1))
	hs.lsink.Reset()
	hs.clock.advance(time.Minute)
	hs.tick()
	stalled := 0
	for _, k := range kinds(syntheticRecords(hs.allLogs())) {
		if k == "stalled "+jobA || k == "stalled "+subA1 {
			stalled++
		}
	}
	assert.Equal(t, 2, stalled, "the watchdog still watches the real job and its subjob")
	metadatatest.AssertEqualProcessorJobhierarchyEvictions(t, hs.tel, []metricdata.DataPoint[int64]{
		{Attributes: evictionSet("entities", "orphan_subjob", "max_open_entities"), Value: 20000 + 2 - 1000},
	}, metricdatatest.IgnoreTimestamp())
}
