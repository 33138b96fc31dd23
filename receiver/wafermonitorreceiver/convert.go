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
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const scopeName = "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

// The metadata fields the receiver interprets.
const (
	metadataError    = "error"
	metadataErrType  = "error_type"
	metadataExpected = "expected_subjobs"
	metadataDone     = "done"
	metadataTotal    = "total"
	metadataFraction = "fraction"
	metadataMessage  = "message"
)

// converter turns events into the three signals. version is the scope version.
type converter struct {
	version string
}

func resourceOf(e *event) entity.Resource {
	return entity.Resource{ServiceName: e.AppName, ServiceVersion: e.AppVersion, SiteID: e.SiteID, AppID: e.AppID, AppIDOriginal: e.AppIDOriginal}
}

func refOf(e *event) entity.Ref {
	ref := entity.Ref{Type: e.EntityType, ID: e.EntityID.String(), BusinessKey: e.BusinessKey, SubKey: e.SubKey}
	if e.HasParent {
		ref.ParentID = e.ParentID.String()
	}
	return ref
}

func entityIDs(e *event) ids.Entity {
	if e.EntityType == semconv.EntityTypeJob {
		return ids.ForJob(ids.UUID(e.EntityID))
	}
	return ids.ForSubjob(ids.UUID(e.EntityID), ids.UUID(e.ParentID), e.HasParent)
}

// toLogs makes one log record per event, under one resource per site and app.
func (c *converter) toLogs(events []event, received time.Time) plog.Logs {
	logs := plog.NewLogs()
	scopes := map[entity.Resource]plog.LogRecordSlice{}
	for i := range events {
		e := &events[i]
		key := resourceOf(e)
		records, ok := scopes[key]
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			key.Fill(rl.Resource())
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(scopeName)
			sl.Scope().SetVersion(c.version)
			records = sl.LogRecords()
			scopes[key] = records
		}
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.At))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(received))
		lr.SetEventName(semconv.EventName(e.EntityType, e.Kind))
		id := entityIDs(e)
		lr.SetTraceID(id.TraceID)
		lr.SetSpanID(id.SpanID)
		sev, sevText := severity(e)
		lr.SetSeverityNumber(sev)
		lr.SetSeverityText(sevText)
		lr.Body().SetStr(e.EntityType + " " + e.EntityID.String() + " " + e.Kind + ": " + e.Status)
		attrs := lr.Attributes()
		attrs.EnsureCapacity(12 + len(e.Metrics))
		putEntityAttributes(e, attrs)
		attrs.PutStr(semconv.AttrEventKind, e.Kind)
		if e.KindOriginal != "" {
			attrs.PutStr(semconv.AttrEventKindOriginal, e.KindOriginal)
		}
		if e.AtOriginal != "" {
			attrs.PutStr(semconv.AttrEventAtOriginal, e.AtOriginal)
		}
		attrs.PutStr(semconv.AttrIdempotencyKey, e.IdempotencyKey)
		if semconv.IsTerminal(e.Kind) {
			if outcome := semconv.OutcomeOf(e.Status); outcome != "" {
				attrs.PutStr(semconv.AttrOutcome, outcome)
			}
		}
		putProgress(e, attrs)
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

// putEntityAttributes writes what spans and log records share.
func putEntityAttributes(e *event, attrs pcommon.Map) {
	refOf(e).PutAttributes(attrs, e.Status)
	if e.EntityTypeOriginal != "" {
		attrs.PutStr(semconv.AttrEntityTypeOriginal, e.EntityTypeOriginal)
	}
	if e.EntityIDOriginal != "" {
		attrs.PutStr(semconv.AttrEntityIDOriginal, e.EntityIDOriginal)
	}
	if e.ParentIDOriginal != "" {
		attrs.PutStr(semconv.AttrParentIDOriginal, e.ParentIDOriginal)
	}
	for _, m := range e.Metrics {
		attrs.PutDouble(semconv.MetricPrefix+m.Name, m.Value)
	}
	if e.MetricsUnparsed != nil {
		setRaw(attrs.PutEmpty(semconv.AttrMetricsUnparsed), e.MetricsUnparsed)
	}
	if msg, ok := e.Metadata[metadataError].(string); ok && msg != "" {
		attrs.PutStr(semconv.AttrErrorMessage, msg)
	}
	if typ, ok := e.Metadata[metadataErrType].(string); ok && typ != "" {
		attrs.PutStr(semconv.AttrErrorType, typ)
	}
	if n, ok := e.Metadata[metadataExpected].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			attrs.PutInt(semconv.AttrExpectedSubjobs, v)
		}
	}
	switch {
	case len(e.Metadata) > 0:
		putRaw(attrs.PutEmptyMap(semconv.AttrMetadata), e.Metadata)
	case e.MetadataOther != nil:
		setRaw(attrs.PutEmpty(semconv.AttrMetadata), e.MetadataOther)
	}
}

// putProgress maps the progress fields the clients put in metadata.
func putProgress(e *event, attrs pcommon.Map) {
	done, hasDone := number(e.Metadata[metadataDone])
	total, hasTotal := number(e.Metadata[metadataTotal])
	if hasDone {
		attrs.PutDouble(semconv.AttrProgressDone, done)
	}
	if hasTotal {
		attrs.PutDouble(semconv.AttrProgressTotal, total)
	}
	if f, ok := number(e.Metadata[metadataFraction]); ok {
		attrs.PutDouble(semconv.AttrProgressFraction, f)
	} else if hasDone && hasTotal && total > 0 {
		attrs.PutDouble(semconv.AttrProgressFraction, done/total)
	}
	if msg, ok := e.Metadata[metadataMessage].(string); ok && e.Kind == semconv.KindProgress {
		attrs.PutStr(semconv.AttrProgressMessage, msg)
	}
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
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
	scopes := map[entity.Resource]ptrace.SpanSlice{}
	count := 0
	for i := range events {
		e := &events[i]
		if !semconv.IsTerminal(e.Kind) {
			continue
		}
		key := resourceOf(e)
		spans, ok := scopes[key]
		if !ok {
			rs := traces.ResourceSpans().AppendEmpty()
			key.Fill(rs.Resource())
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(scopeName)
			ss.Scope().SetVersion(c.version)
			spans = ss.Spans()
			scopes[key] = spans
		}
		count++
		span := spans.AppendEmpty()
		id := entityIDs(e)
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
		putEntityAttributes(e, attrs)
		if outcome := semconv.OutcomeOf(e.Status); outcome != "" {
			attrs.PutStr(semconv.AttrOutcome, outcome)
		}
		switch e.Status {
		case semconv.StatusFailed, semconv.StatusTimedOut:
			span.Status().SetCode(ptrace.StatusCodeError)
			msg, _ := e.Metadata[metadataError].(string)
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
