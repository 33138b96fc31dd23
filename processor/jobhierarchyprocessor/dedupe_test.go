package jobhierarchyprocessor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func TestIDSet(t *testing.T) {
	var s idSet
	model := map[uint64]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		h := r.Uint64N(3000) // repeats, so both outcomes of add are taken
		assert.Equal(t, !model[h], s.add(h), "add(%d)", h)
		model[h] = true
		require.Equal(t, len(model), s.len())
	}
	for h := uint64(0); h < 3100; h++ {
		assert.Equal(t, model[h], s.has(h), "has(%d)", h)
	}
	assert.LessOrEqual(t, len(s.pending), idPendingMax)
	assert.IsNonDecreasing(t, s.sorted)
}

func TestHashIDHasNoCollisionsOnSimilarIDs(t *testing.T) {
	seen := make(map[uint64]string, 1<<18)
	for i := 0; i < 1<<18; i++ {
		id := fmt.Sprintf("10000000-0000-4000-8000-%012d", i)
		h := hashID(id)
		if other, ok := seen[h]; ok {
			t.Fatalf("%s and %s have the same hash", id, other)
		}
		seen[h] = id
	}
}

func subjobSpan(spans ptrace.SpanSlice, id, parent, status string, cpu float64) {
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: id, parent: parent, bk: "lot-4711", status: status, end: base,
		metrics: map[string]float64{semconv.MetricKeyCPUUserS: cpu, semconv.MetricKeyDurationS: 10}})
}

func subjobID(i int) string { return fmt.Sprintf("a1000000-0000-4000-8000-%012d", i) }

// TestRetriedSubjobsCountOnce: 20 subjobs, each delivered five times (a
// client retrying after refusals, alone and in batches with others) and
// once more by another path (another resource, as the SDK over OTLP would
// send it): the job counts 20.
func TestRetriedSubjobsCountOnce(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	for round := 0; round < 5; round++ {
		td, spans := newSpans()
		for i := 0; i < 20; i++ {
			status := semconv.StatusSucceeded
			if i < 3 {
				status = semconv.StatusFailed
			}
			subjobSpan(spans, subjobID(i), jobA, status, 1)
			if round == 0 {
				// The same subjob twice in one request.
				subjobSpan(spans, subjobID(i), jobA, status, 1)
			}
		}
		hs.consumeTraces(td)
	}
	otlp := ptrace.NewTraces()
	rs := otlp.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(semconv.AttrServiceName, "litho-sdk")
	subjobSpan(rs.ScopeSpans().AppendEmpty().Spans(), subjobID(7), jobA, semconv.StatusSucceeded, 1)
	hs.consumeTraces(otlp)

	td, spans := newSpans()
	jobASpan(spans, semconv.StatusSucceeded, base)
	hs.consumeTraces(td)
	job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
	assert.Equal(t, int64(20), job[semconv.AttrSubjobsTotal])
	assert.Equal(t, int64(3), job[semconv.AttrSubjobsFailed])
	assert.Equal(t, 20.0, job[semconv.AttrJobCPUUserSum])
	assert.Equal(t, 200.0, job[semconv.AttrJobSubjobDurationSum])
	assert.Equal(t, semconv.OutcomeFailure, job[semconv.AttrJobOutcome])
	assert.NotContains(t, job, semconv.AttrJobRollupComplete)

	// A late subjob retried: counted once, every copy marked late.
	for range 3 {
		td, spans := newSpans()
		subjobSpan(spans, subjobID(99), jobA, semconv.StatusSucceeded, 1)
		hs.consumeTraces(td)
		assert.Equal(t, true, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().AsRaw()[semconv.AttrSubjobLate])
	}
	hs.tick()
	late := syntheticRecords(hs.allLogs())
	require.Equal(t, []string{"late_subjobs " + jobA}, kinds(late))
	assert.Equal(t, int64(21), late[0].Attributes().AsRaw()[semconv.AttrSubjobsTotal])
	assert.Equal(t, int64(1), late[0].Attributes().AsRaw()[semconv.AttrSubjobsLate])
}

// TestSubjobIDBudget: max_subjob_ids bounds the hashes held across jobs; a
// job whose summary had to go for it says its roll-ups are incomplete.
func TestSubjobIDBudget(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjobIDs = 25
	hs := newHarness(t, cfg, nil)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeLogs(started(semconv.EntityTypeJob, jobB, "", base))
	td, spans := newSpans()
	for i := 0; i < 10; i++ {
		subjobSpan(spans, subjobID(i), jobA, semconv.StatusSucceeded, 1)
	}
	hs.consumeTraces(td)
	td, spans = newSpans()
	for i := 10; i < 30; i++ {
		subjobSpan(spans, subjobID(i), jobB, semconv.StatusSucceeded, 1)
	}
	hs.consumeTraces(td) // job A's summary, the least recent, goes
	assert.LessOrEqual(t, hs.h.idCount, 25)
	assert.Equal(t, 20, hs.h.idCount)

	td, spans = newSpans()
	jobASpan(spans, semconv.StatusSucceeded, base)
	hs.consumeTraces(td)
	job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
	assert.Equal(t, false, job[semconv.AttrJobRollupComplete])
	assert.Equal(t, int64(0), job[semconv.AttrSubjobsTotal])
	metadatatest.AssertEqualProcessorJobhierarchyEvictions(t, hs.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("table", "job_summaries"), attribute.String("class", "reported"), attribute.String("reason", "max_subjob_ids")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}
