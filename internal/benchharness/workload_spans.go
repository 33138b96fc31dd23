package main

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The spans of the same output: for every terminal event the wafermonitor
// receiver makes the subjob's span beside its log record (convert.go's
// toTraces), and a site's OTLP client (the SDK) exports a span when a job or
// subjob ends beside its log records. The `otlp-json-spans` form sends them
// to /v1/traces after the log records, so that the OTLP side has as much
// output to carry as the v1 side: a log record per event and a span per
// finished subjob.

// finishedDurationS is a finished subjob's duration_s: its span starts that
// long before the event.
const finishedDurationS = 93.2

// spanStart is when a finished subjob's span started, as the receiver
// computes it from the event's time and duration_s.
var spanStart = eventTime.Add(-time.Duration(finishedDurationS * float64(time.Second)))

// otlpTraces is what the wafermonitor receiver makes of the terminal events
// among events: one resource and scope, one span per finished subjob.
func otlpTraces(events []benchEvent) ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	fillResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	fillScope(ss.Scope())
	for _, e := range events {
		if e.started {
			continue
		}
		span := ss.Spans().AppendEmpty()
		id := e.ids()
		span.SetTraceID(id.TraceID)
		span.SetSpanID(id.SpanID)
		span.SetParentSpanID(id.ParentSpanID)
		span.SetName(entity.Ref{Type: semconv.EntityTypeSubjob, BusinessKey: bizKey, SubKey: subKey}.SpanName())
		span.SetKind(ptrace.SpanKindInternal)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(spanStart))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(eventTime))
		attrs := span.Attributes()
		putSubjobAttributes(attrs, e)
		attrs.PutStr(semconv.AttrOutcome, semconv.OutcomeOf(e.status()))
		span.Status().SetCode(ptrace.StatusCodeOk)
	}
	return traces
}

// encodeSpans is the OTLP JSON body of the spans of events, or nil when
// none of them is terminal (no request to send).
func encodeSpans(events []benchEvent) []byte {
	traces := otlpTraces(events)
	if traces.SpanCount() == 0 {
		return nil
	}
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(traces)
	if err != nil {
		panic(err)
	}
	return body
}

// newSpanTemplate is the template of the spans of `events` placeholder
// events (placeholderSlots), or nil when none is terminal. Its started
// slots have nothing to patch.
func newSpanTemplate(events int, firstStarted bool) *template {
	slots := placeholderSlots(events, firstStarted)
	body := encodeSpans(slots)
	if body == nil {
		return nil
	}
	t := &template{body: body, events: events, patches: make([][]patch, events)}
	fields := []func(benchEvent) []byte{fieldSubjob, fieldJob,
		idField(false, subjobSpanID), idField(false, jobTraceID), idField(false, jobSpanID)}
	for i, e := range slots {
		if !e.started {
			t.locateAll(i, e, fields)
		}
	}
	return t
}
