package jobhierarchyprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const subjobsPerJob = 100

func benchJobID(i int) string    { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
func benchSubjobID(i int) string { return fmt.Sprintf("10000000-0000-4000-8000-%012d", i) }

// jobWithSubjobs is one job's traffic: a batch of its subjob spans, then a
// batch with its own span.
func jobWithSubjobs(job int) (ptrace.Traces, ptrace.Traces) {
	subs, spans := newSpans()
	for s := 0; s < subjobsPerJob; s++ {
		status := semconv.StatusSucceeded
		if s%10 == 0 {
			status = semconv.StatusFailed
		}
		addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(job*subjobsPerJob + s), parent: benchJobID(job), bk: "lot-4711", sk: "wafer", status: status, end: base,
			metrics: map[string]float64{semconv.MetricKeyDurationS: 10, semconv.MetricKeyCPUUserS: 1, semconv.MetricKeyCPUSystemS: 0.5, semconv.MetricKeyMemMaxMB: 100}})
	}
	jobs, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeJob, id: benchJobID(job), bk: "lot-4711", status: semconv.StatusSucceeded, end: base, expected: subjobsPerJob,
		metrics: map[string]float64{semconv.MetricKeyDurationS: 60}})
	return subs, jobs
}

// BenchmarkSpansThroughput: spans per second through the processor (its
// processorhelper wrapper included) for jobs of 100 subjobs, each job a
// distinct summary.
func BenchmarkSpansThroughput(b *testing.B) {
	cfg := testConfig()
	tp, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, tp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, tp.Shutdown(context.Background())) }()
	subsTemplate, jobTemplate := jobWithSubjobs(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Fresh copies (the processor writes into the data) with this
		// iteration's job ID.
		subs, job := ptrace.NewTraces(), ptrace.NewTraces()
		subsTemplate.CopyTo(subs)
		jobTemplate.CopyTo(job)
		setParent(subs, benchJobID(i))
		setID(job, benchJobID(i))
		b.StartTimer()
		if err := tp.ConsumeTraces(context.Background(), subs); err != nil {
			b.Fatal(err)
		}
		if err := tp.ConsumeTraces(context.Background(), job); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*(subjobsPerJob+1))/b.Elapsed().Seconds(), "spans/s")
}

func setParent(td ptrace.Traces, parent string) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).Attributes().PutStr(semconv.AttrParentID, parent)
	}
}

func setID(td ptrace.Traces, id string) {
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(semconv.AttrEntityID, id)
}

// BenchmarkLifecycleRecords: lifecycle log records per second through the
// watchdog (started, progress, finished of distinct entities).
func BenchmarkLifecycleRecords(b *testing.B) {
	cfg := testConfig()
	lp, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, lp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, lp.Shutdown(context.Background())) }()
	const perBatch = 100
	kindsCycle := []string{semconv.KindStarted, semconv.KindProgress, semconv.KindFinished}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ld, records := newRecords()
		for r := 0; r < perBatch; r++ {
			n := (i*perBatch + r) / 3
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(n), parent: benchJobID(n / subjobsPerJob), kind: kindsCycle[(i*perBatch+r)%3], status: semconv.StatusRunning, at: base})
		}
		b.StartTimer()
		if err := lp.ConsumeLogs(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMemoryPerOpenJob: heap held per open job (its watchdog entry and
// its roll-up summary over 100 finished subjobs) and per open subjob (its
// watchdog entry), measured over 10,000 of each. Run it with -benchtime 1x.
func BenchmarkMemoryPerOpenJob(b *testing.B) {
	const n = 10000
	for i := 0; i < b.N; i++ {
		cfg := testConfig()
		h, err := newHierarchy(cfg, processortest.NewNopSettings(metadata.Type))
		require.NoError(b, err)
		h.now = func() time.Time { return base }
		subs, _ := jobWithSubjobs(0)

		before := heapInUse()
		for j := 0; j < n; j++ {
			ld, records := newRecords()
			addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: benchJobID(j), bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base, expected: subjobsPerJob})
			_, _ = h.processLogs(context.Background(), ld)
			td := ptrace.NewTraces()
			subs.CopyTo(td)
			setParent(td, benchJobID(j))
			_, _ = h.processTraces(context.Background(), td)
		}
		perJob := float64(heapInUse()-before) / n

		before = heapInUse()
		for j := 0; j < n; j++ {
			ld, records := newRecords()
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(j), parent: benchJobID(j), bk: "lot-4711", sk: "wafer-07", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
			_, _ = h.processLogs(context.Background(), ld)
		}
		perSubjob := float64(heapInUse()-before) / n
		runtime.KeepAlive(h)
		h.telemetry.Shutdown()
		b.ReportMetric(perJob, "bytes/open_job")
		b.ReportMetric(perSubjob, "bytes/open_subjob")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
