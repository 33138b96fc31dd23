package main

import (
	"context"
	"fmt"
	"runtime"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// memSample is the heap the processor holds for n open jobs.
type memSample struct {
	jobs        int
	perJob      float64 // bytes, watchdog entry of a started job
	perJobRolls float64 // bytes, the same plus the roll-up summary of one finished subjob
}

// processorMemory runs the jobhierarchy processor in this process (its
// factory, its logs and traces pipeline sharing one state, as in the
// collector) and measures the live heap after n jobs have started (a
// `started` log record each), then after each job also got a finished
// subjob span (the job's roll-up summary). Each n uses a fresh processor.
func processorMemory(ctx context.Context, n int) (memSample, error) {
	f := jobhierarchyprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*jobhierarchyprocessor.Config)
	cfg.MaxOpenEntities = 2 * n
	cfg.MaxJobSummaries = 2 * n
	set := processortest.NewNopSettings(component.MustNewType("jobhierarchy"))
	lp, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	if err != nil {
		return memSample{}, err
	}
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	if err != nil {
		return memSample{}, err
	}
	host := componenttest.NewNopHost()
	if err := lp.Start(ctx, host); err != nil {
		return memSample{}, err
	}
	if err := tp.Start(ctx, host); err != nil {
		return memSample{}, err
	}
	defer func() {
		_ = lp.Shutdown(ctx)
		_ = tp.Shutdown(ctx)
	}()

	const perBatch = 1000
	before := liveHeap()
	for j := 0; j < n; j += perBatch {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		entity.Resource{ServiceName: appName, ServiceVersion: appVersion, SiteID: siteID, AppID: appID}.Fill(rl.Resource())
		records := rl.ScopeLogs().AppendEmpty().LogRecords()
		for k := j; k < j+perBatch && k < n; k++ {
			id := jobUUID(uint64(k))
			lr := records.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(eventTime))
			lr.SetEventName(semconv.EventName(semconv.EntityTypeJob, semconv.KindStarted))
			e := ids.ForJob(mustUUID(id))
			lr.SetTraceID(e.TraceID)
			lr.SetSpanID(e.SpanID)
			entity.Ref{Type: semconv.EntityTypeJob, ID: id, BusinessKey: fmt.Sprintf("lot-%d", k)}.PutAttributes(lr.Attributes(), semconv.StatusRunning)
			lr.Attributes().PutStr(semconv.AttrEventKind, semconv.KindStarted)
			lr.Attributes().PutStr(semconv.AttrIdempotencyKey, eventKey(uint64(k)))
		}
		if err := lp.ConsumeLogs(ctx, ld); err != nil {
			return memSample{}, err
		}
	}
	afterStart := liveHeap()
	for j := 0; j < n; j += perBatch {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		entity.Resource{ServiceName: appName, ServiceVersion: appVersion, SiteID: siteID, AppID: appID}.Fill(rs.Resource())
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for k := j; k < j+perBatch && k < n; k++ {
			sub, job := subjobUUID(uint64(k)), jobUUID(uint64(k))
			e := ids.ForSubjob(mustUUID(sub), mustUUID(job), true)
			s := spans.AppendEmpty()
			s.SetTraceID(e.TraceID)
			s.SetSpanID(e.SpanID)
			s.SetParentSpanID(e.ParentSpanID)
			s.SetName("subjob " + bizKey)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(eventTime))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(observedTime))
			entity.Ref{Type: semconv.EntityTypeSubjob, ID: sub, ParentID: job, BusinessKey: bizKey, SubKey: subKey}.PutAttributes(s.Attributes(), semconv.StatusSucceeded)
			for _, m := range finishedMetrics {
				s.Attributes().PutDouble(semconv.MetricPrefix+m.name, m.value)
			}
			s.Attributes().PutStr(semconv.AttrOutcome, semconv.OutcomeOf(semconv.StatusSucceeded))
		}
		if err := tp.ConsumeTraces(ctx, td); err != nil {
			return memSample{}, err
		}
	}
	afterRollups := liveHeap()
	runtime.KeepAlive(lp)
	runtime.KeepAlive(tp)
	return memSample{
		jobs:        n,
		perJob:      float64(int64(afterStart)-int64(before)) / float64(n),
		perJobRolls: float64(int64(afterRollups)-int64(before)) / float64(n),
	}, nil
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
