package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

const scopeName = "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

// converter turns events into the three signals. version is the scope version.
type converter struct {
	version string
}

func resourceOf(e *event) entity.Resource {
	return entity.Resource{ServiceName: e.AppName, ServiceVersion: e.AppVersion, SiteID: e.SiteID, AppID: e.AppID, AppIDOriginal: e.AppIDOriginal}
}

func refOf(e *event) entity.Ref {
	ref := entity.Ref{
		Type: e.EntityType, ID: e.idText(), BusinessKey: e.BusinessKey, SubKey: e.SubKey,
		TypeOriginal: e.EntityTypeOriginal, IDOriginal: e.EntityIDOriginal, ParentIDOriginal: e.ParentIDOriginal,
	}
	if e.HasParent {
		ref.ParentID = e.parentText()
	}
	return ref
}

// toLogs makes one log record per event, under one resource per site and app.
func (c *converter) toLogs(events []event, received time.Time) plog.Logs {
	logs := plog.NewLogs()
	var scopes resourceIndex[plog.LogRecordSlice]
	for i := range events {
		e := &events[i]
		key := resourceOf(e)
		records, ok := scopes.get(key)
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			key.Fill(rl.Resource())
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(scopeName)
			sl.Scope().SetVersion(c.version)
			records = sl.LogRecords()
			records.EnsureCapacity(len(events) - i)
			scopes.put(key, records)
		}
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.At))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(received))
		lr.SetEventName(eventName(e.EntityType, e.Kind))
		id := e.traceIDs()
		lr.SetTraceID(id.TraceID)
		lr.SetSpanID(id.SpanID)
		sev, sevText := severity(e)
		lr.SetSeverityNumber(sev)
		lr.SetSeverityText(sevText)
		lr.Body().SetStr(e.EntityType + " " + e.idText() + " " + e.Kind + ": " + e.Status)
		attrs := lr.Attributes()
		attrs.EnsureCapacity(12 + len(e.Metrics))
		v := entity.Of(attrs)
		putEntityAttributes(e, v)
		v.PutEvent(e.Kind, e.KindOriginal, e.IdempotencyKey)
		v.PutAtOriginal(e.AtOriginal)
		if semconv.IsTerminal(e.Kind) {
			v.PutOutcome(semconv.OutcomeOf(e.Status))
		}
		putProgress(e, v)
	}
	return logs
}

func severity(e *event) (plog.SeverityNumber, string) {
	switch {
	case e.Kind == semconv.KindError || (semconv.IsTerminal(e.Kind) && e.Status == semconv.StatusFailed):
		return plog.SeverityNumberError, "ERROR"
	case e.Kind == semconv.KindCanceled:
		return plog.SeverityNumberWarn, "WARN"
	}
	return plog.SeverityNumberInfo, "INFO"
}

// metricAttributes are the attribute names of the measurements every
// client sends, made once rather than for each event.
var metricAttributes = map[string]string{
	semconv.MetricKeyDurationS:  semconv.AttrDurationS,
	semconv.MetricKeyCPUUserS:   semconv.AttrCPUUserS,
	semconv.MetricKeyCPUSystemS: semconv.AttrCPUSystemS,
	semconv.MetricKeyMemMaxMB:   semconv.AttrMemMaxMB,
}

// putEntityAttributes writes what spans and log records share.
func putEntityAttributes(e *event, v entity.View) {
	refOf(e).PutAttributes(v.Attributes(), e.Status)
	for _, m := range e.Metrics {
		if attr, ok := metricAttributes[m.Name]; ok {
			v.PutDouble(attr, m.Value)
		} else {
			v.PutMetric(m.Name, m.Value)
		}
	}
	if e.MetricsUnparsed != nil {
		setRaw(v.Attributes().PutEmpty(semconv.AttrMetricsUnparsed), e.MetricsUnparsed)
	}
	errType, _ := e.Metadata[v1event.MetadataErrorType].(string)
	v.PutError(errType, errorMessage(e))
	if n, ok := metadataInt(e.Metadata[v1event.MetadataExpectedSubjobs]); ok {
		v.PutExpectedSubjobs(n)
	}
	switch {
	case len(e.Metadata) > 0:
		putRaw(v.Attributes().PutEmptyMap(semconv.AttrMetadata), e.Metadata)
	case e.MetadataOther != nil:
		setRaw(v.Attributes().PutEmpty(semconv.AttrMetadata), e.MetadataOther)
	}
}

func errorMessage(e *event) string {
	msg, _ := e.Metadata[v1event.MetadataError].(string)
	return msg
}

// putProgress maps the progress fields the clients put in metadata.
func putProgress(e *event, v entity.View) {
	md := e.Metadata
	var p entity.Progress
	p.Done, p.HasDone = metricNumber(md[v1event.MetadataDone])
	p.Total, p.HasTotal = metricNumber(md[v1event.MetadataTotal])
	p.Fraction, p.HasFraction = metricNumber(md[v1event.MetadataFraction])
	if e.Kind == semconv.KindProgress {
		p.Message, _ = md[v1event.MetadataMessage].(string)
	}
	v.PutProgress(p)
}

// metadataInt reads a whole number in metadata, entity.ParseInt's rules.
func metadataInt(v any) (int64, bool) {
	s := numericText(v)
	if s == "" { // absent, or not a number: no failed reading to allocate
		return 0, false
	}
	return entity.ParseInt(s)
}

// putRaw copies decoded JSON into an attribute map, keeping integers as
// integers, in key order so that output is stable.
func putRaw(dst pcommon.Map, src map[string]any) {
	dst.EnsureCapacity(len(src))
	for _, k := range slices.Sorted(maps.Keys(src)) {
		setRaw(dst.PutEmpty(k), src[k])
	}
}

func setRaw(dst pcommon.Value, v any) {
	switch t := v.(type) {
	case string:
		dst.SetStr(t)
	case bool:
		dst.SetBool(t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			dst.SetInt(i)
		} else if f, err := t.Float64(); err == nil {
			dst.SetDouble(f)
		} else {
			dst.SetStr(string(t))
		}
	case map[string]any:
		putRaw(dst.SetEmptyMap(), t)
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(t))
		for _, item := range t {
			setRaw(s.AppendEmpty(), item)
		}
	}
	// null stays an empty value.
}

// toTraces makes one span per entity that ended in this batch.
func (c *converter) toTraces(events []event) (ptrace.Traces, int) {
	traces := ptrace.NewTraces()
	var scopes resourceIndex[ptrace.SpanSlice]
	count := 0
	for i := range events {
		e := &events[i]
		if !semconv.IsTerminal(e.Kind) {
			continue
		}
		key := resourceOf(e)
		spans, ok := scopes.get(key)
		if !ok {
			rs := traces.ResourceSpans().AppendEmpty()
			key.Fill(rs.Resource())
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(scopeName)
			ss.Scope().SetVersion(c.version)
			spans = ss.Spans()
			spans.EnsureCapacity(len(events) - i)
			scopes.put(key, spans)
		}
		count++
		span := spans.AppendEmpty()
		id := e.traceIDs()
		span.SetTraceID(id.TraceID)
		span.SetSpanID(id.SpanID)
		if id.ParentSpanID != ([8]byte{}) {
			span.SetParentSpanID(id.ParentSpanID)
		}
		span.SetName(refOf(e).SpanName())
		if e.EntityType == semconv.EntityTypeJob {
			span.SetKind(ptrace.SpanKindServer)
		} else {
			span.SetKind(ptrace.SpanKindInternal)
		}
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(e.Start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(e.At))
		attrs := span.Attributes()
		attrs.EnsureCapacity(12 + len(e.Metrics))
		v := entity.Of(attrs)
		putEntityAttributes(e, v)
		v.PutOutcome(semconv.OutcomeOf(e.Status))
		switch e.Status {
		case semconv.StatusFailed, semconv.StatusTimedOut:
			span.Status().SetCode(ptrace.StatusCodeError)
			msg := errorMessage(e)
			if msg == "" {
				msg = e.Status
			}
			span.Status().SetMessage(msg)
		case semconv.StatusSucceeded:
			span.Status().SetCode(ptrace.StatusCodeOk)
		}
	}
	return traces, count
}
