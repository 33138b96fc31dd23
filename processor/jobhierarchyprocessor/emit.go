package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const (
	scopeName = "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"
)

// idsOf derives an entity's trace and span IDs (sdk/ids); an ID that is not
// a UUID leaves them empty.
func idsOf(e entity.Ref) (ids.Entity, bool) {
	id, err := uuid.Parse(e.ID)
	if err != nil {
		return ids.Entity{}, false
	}
	if e.Type == semconv.EntityTypeJob {
		return ids.ForJob(ids.UUID(id)), true
	}
	parent, err := uuid.Parse(e.ParentID)
	return ids.ForSubjob(ids.UUID(id), ids.UUID(parent), err == nil), true
}

// emitter collects the synthetic log records and spans of one pass, one
// resource per site and application.
type emitter struct {
	version string
	logs    plog.Logs
	traces  ptrace.Traces
	records map[entity.Resource]plog.LogRecordSlice
	spans   map[entity.Resource]ptrace.SpanSlice
}

func newEmitter(version string) *emitter {
	return &emitter{
		version: version,
		logs:    plog.NewLogs(),
		traces:  ptrace.NewTraces(),
		records: map[entity.Resource]plog.LogRecordSlice{},
		spans:   map[entity.Resource]ptrace.SpanSlice{},
	}
}

// event appends a lifecycle log record shaped like the receiver's.
func (em *emitter) event(res entity.Resource, e entity.Ref, kind, status string, now time.Time) plog.LogRecord {
	records, ok := em.records[res]
	if !ok {
		rl := em.logs.ResourceLogs().AppendEmpty()
		res.Fill(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(scopeName)
		sl.Scope().SetVersion(em.version)
		records = sl.LogRecords()
		em.records[res] = records
	}
	lr := records.AppendEmpty()
	ts := pcommon.NewTimestampFromTime(now)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetEventName(semconv.EventName(e.Type, kind))
	if id, ok := idsOf(e); ok {
		lr.SetTraceID(id.TraceID)
		lr.SetSpanID(id.SpanID)
	}
	switch kind {
	case semconv.KindTimeout, semconv.KindMissed:
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
	case semconv.KindStalled, semconv.KindOrphanSubjobs, semconv.KindLateStart:
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	default:
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	lr.Body().SetStr(e.Type + " " + e.ID + " " + kind + ": " + status)
	e.PutAttributes(lr.Attributes(), status)
	entity.Of(lr.Attributes()).PutEvent(kind, "", entity.DerivedKey(e.ID, kind, now, ""))
	return lr
}

// timeoutSpan appends the error span of an entity that was given up.
func (em *emitter) timeoutSpan(res entity.Resource, e entity.Ref, start, end time.Time, msg string) ptrace.Span {
	spans, ok := em.spans[res]
	if !ok {
		rs := em.traces.ResourceSpans().AppendEmpty()
		res.Fill(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(scopeName)
		ss.Scope().SetVersion(em.version)
		spans = ss.Spans()
		em.spans[res] = spans
	}
	span := spans.AppendEmpty()
	if id, ok := idsOf(e); ok {
		span.SetTraceID(id.TraceID)
		span.SetSpanID(id.SpanID)
		if id.ParentSpanID != ([8]byte{}) {
			span.SetParentSpanID(id.ParentSpanID)
		}
	}
	span.SetName(e.SpanName())
	if e.Type == semconv.EntityTypeJob {
		span.SetKind(ptrace.SpanKindServer)
	} else {
		span.SetKind(ptrace.SpanKindInternal)
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	e.PutAttributes(span.Attributes(), semconv.StatusTimedOut)
	v := entity.Of(span.Attributes())
	v.PutOutcome(semconv.OutcomeTimeout)
	v.PutError("", msg)
	v.PutMetric(semconv.MetricKeyDurationS, end.Sub(start).Seconds())
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage(msg)
	return span
}
