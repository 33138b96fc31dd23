package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// item is one event or finished entity, encoded, with what the filters and
// the idempotency header need.
type item struct {
	key  string          // idempotency key
	body json.RawMessage // the encoded v1 event, CloudEvent or record
	// where it came from, to hand back what is left after a retryable failure
	resource, scope, index int
}

// facts are the values the filters look at.
type facts struct {
	kind, outcome, status, entityType, site, appName, appID string
}

// cloudEvent is a CloudEvents 1.0 event in structured JSON mode, with the
// W3C trace context (distributed tracing extension) and wafermonitor's own
// extension attributes for routing without parsing data.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time,omitempty"`
	DataContentType string `json:"datacontenttype"`
	TraceParent     string `json:"traceparent,omitempty"`
	WaferSite       string `json:"wafersite,omitempty"`
	WaferOutcome    string `json:"waferoutcome,omitempty"`
	Data            any    `json:"data"`
}

// recordFields names, in a record, the roll-ups the jobhierarchy processor
// writes on a job's span (entity.RollupFields) and the job attributes that
// go with them.
var recordFields = func() []entity.Field {
	return append(slices.Clone(entity.RollupFields),
		entity.Field{Attr: semconv.AttrJobOutcome, Name: "job_outcome"},
		entity.Field{Attr: semconv.AttrExpectedSubjobs, Name: "expected_subjobs"},
		entity.Field{Attr: semconv.AttrSubjobLate, Name: "late"},
	)
}()

// Attributes that a record or v1 event names itself; every other span
// attribute is copied into a record under its own name.
var mappedAttributes = func() map[string]bool {
	m := map[string]bool{
		semconv.AttrEntityType: true, semconv.AttrEntityID: true, semconv.AttrParentID: true,
		semconv.AttrBusinessKey: true, semconv.AttrSubKey: true, semconv.AttrOrphan: true,
		semconv.AttrStatus: true, semconv.AttrOutcome: true, semconv.AttrErrorType: true,
		semconv.AttrErrorMessage: true, semconv.AttrDurationS: true, semconv.AttrCPUUserS: true,
		semconv.AttrCPUSystemS: true, semconv.AttrMemMaxMB: true, semconv.AttrMetadata: true,
		semconv.AttrJobRollupComplete: true,
	}
	for _, f := range recordFields {
		m[f.Attr] = true
	}
	return m
}()

// jsonValue is an attribute's value in a payload: a number attribute
// (entity.IsNumeric) read as a number, an int kept an int, and left out when
// it is none (NaN, infinities, text); any other value as it is, with the
// numbers JSON cannot hold inside it made null.
func jsonValue(attr string, v pcommon.Value) (any, bool) {
	if !entity.IsNumeric(attr) {
		return jsonSafe(v.AsRaw()), true
	}
	if v.Type() == pcommon.ValueTypeInt {
		return v.Int(), true
	}
	f, ok := entity.Number(v)
	return f, ok
}

func rfc3339(ts pcommon.Timestamp) string {
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// v1TimeLayout is how the old Python clients write event.at: UTC as
// +00:00 and microseconds. Python 3.10's datetime.fromisoformat, which the
// old Local API parses with, refuses a trailing Z and fractions of other
// than 3 or 6 digits.
const v1TimeLayout = "2006-01-02T15:04:05.000000+00:00"

func v1Time(ts pcommon.Timestamp) string {
	return ts.AsTime().UTC().Format(v1TimeLayout)
}

// eventTime is the time of a lifecycle event: the record's timestamp, or
// the time it was observed when it has none.
func eventTime(lr plog.LogRecord) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	return lr.ObservedTimestamp().AsTime()
}

// isLifecycle tells a job or subjob lifecycle event from any other log
// record that shares the pipeline (application logs arriving over OTLP).
func isLifecycle(attrs pcommon.Map) bool { return entity.Of(attrs).IsEvent() }

// isEntity tells a job or subjob span from any other span.
func isEntity(attrs pcommon.Map) bool { return entity.Of(attrs).ID() != "" }

// orSent is the text a client sent, kept in an *.original attribute when
// the receiver had to interpret it, or else the value used.
func orSent(original, used string) string {
	if original != "" {
		return original
	}
	return used
}

func resourceFacts(res pcommon.Resource) (entity.Resource, facts) {
	r := entity.ResourceFrom(res)
	return r, facts{site: r.SiteID, appName: r.ServiceName, appID: r.AppID}
}

// eventOf rebuilds the v1 event of a log record: what the client sent,
// where the receiver kept it (its ids, its own kind, metadata of any JSON
// type).
func eventOf(res pcommon.Resource, lr plog.LogRecord) (v1event.Event, facts) {
	v := entity.Of(lr.Attributes())
	r, f := resourceFacts(res)
	ref := v.Ref()
	f.kind = v.Kind()
	f.status = v.Status()
	if semconv.IsTerminal(f.kind) {
		f.outcome = v.Outcome()
	}
	f.entityType = ref.Type

	at := eventTime(lr)
	key := v.IdempotencyKey()
	if key == "" {
		key = v.DerivedKey(at)
	}
	ev := v1event.Event{
		IdempotencyKey: key,
		SiteID:         f.site,
		App:            v1event.App{AppID: orSent(r.AppIDOriginal, r.AppID), Name: f.appName, Version: r.ServiceVersion},
		Entity: v1event.Entity{
			Type:        ref.Type,
			ID:          orSent(ref.IDOriginal, ref.ID),
			ParentID:    v1event.Optional(orSent(ref.ParentIDOriginal, ref.ParentID)),
			BusinessKey: v1event.Optional(ref.BusinessKey),
			SubKey:      v1event.Optional(ref.SubKey),
		},
		Event: v1event.Body{
			Kind:     v.SentKind(),
			At:       v1Time(pcommon.NewTimestampFromTime(at)),
			Status:   f.status,
			Metrics:  metricsOf(v),
			Metadata: metadataOf(v),
		},
	}
	return ev, f
}

// metricsOf collects the measurements under their v1 keys.
func metricsOf(v entity.View) map[string]float64 {
	m := map[string]float64{}
	v.Metrics(func(key string, value float64) { m[key] = value })
	return m
}

// metadataOf returns wafer.metadata as the client sent it: an object, or
// any other JSON value. A record without it (an event from OTLP or
// synthesised by the jobhierarchy processor) gets the metadata fields the
// v1 contract interprets, rebuilt from their attributes.
func metadataOf(v entity.View) any {
	if md, ok := v.Metadata(); ok {
		if md.Type() == pcommon.ValueTypeMap {
			return jsonSafe(md.Map().AsRaw())
		}
		return jsonSafe(md.AsRaw())
	}
	md := map[string]any{}
	for _, f := range entity.V1MetadataFields {
		if val, ok := v.Attributes().Get(f.Attr); ok {
			if value, ok := jsonValue(f.Attr, val); ok {
				md[f.Name] = value
			}
		}
	}
	return md
}

// jsonSafe replaces the numbers JSON cannot hold (NaN, infinities) with
// null, in place, inside raw attribute values.
func jsonSafe(v any) any {
	switch t := v.(type) {
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil
		}
	case map[string]any:
		for k, item := range t {
			t[k] = jsonSafe(item)
		}
	case []any:
		for i, item := range t {
			t[i] = jsonSafe(item)
		}
	}
	return v
}

// kindOfSpan names the terminal event a finished entity's span stands for.
func kindOfSpan(status string) string {
	switch status {
	case semconv.StatusCanceled:
		return semconv.KindCanceled
	case semconv.StatusTimedOut:
		return semconv.KindTimeout
	}
	return semconv.KindFinished
}

// recordOf flattens a finished entity's span into one JSON object.
func recordOf(res pcommon.Resource, span ptrace.Span) (map[string]any, facts, string) {
	attrs := span.Attributes()
	v := entity.Of(attrs)
	rs, f := resourceFacts(res)
	ref := v.Ref()
	f.status = v.Status()
	f.kind = kindOfSpan(f.status)
	f.outcome = entity.SpanOutcome(span)
	f.entityType = ref.Type
	key := entity.DerivedKey(ref.ID, f.kind, span.EndTimestamp().AsTime(), "")

	r := map[string]any{
		"idempotency_key": key,
		"site_id":         f.site,
		"service_name":    f.appName,
		"entity_type":     f.entityType,
		"entity_id":       ref.ID,
		"name":            span.Name(),
		"kind":            f.kind,
		"status":          f.status,
		"started_at":      rfc3339(span.StartTimestamp()),
		"ended_at":        rfc3339(span.EndTimestamp()),
		"trace_id":        span.TraceID().String(),
		"span_id":         span.SpanID().String(),
	}
	put := func(name, value string) {
		if value != "" {
			r[name] = value
		}
	}
	put("service_version", rs.ServiceVersion)
	put("app_id", f.appID)
	put("parent_id", ref.ParentID)
	put("business_key", ref.BusinessKey)
	put("sub_key", ref.SubKey)
	put("outcome", f.outcome)
	put("error_type", v.ErrorType())
	put("error_message", v.ErrorMessage())
	if v.Orphan() {
		r["orphan"] = true
	}
	if d, ok := entity.SpanDuration(span); ok {
		r["duration_s"] = d
	}
	for _, key := range []string{semconv.MetricKeyCPUUserS, semconv.MetricKeyCPUSystemS, semconv.MetricKeyMemMaxMB} {
		if value, ok := v.Metric(key); ok {
			r[key] = value
		}
	}
	if md, ok := v.Metadata(); ok {
		r["metadata"] = jsonSafe(md.AsRaw())
	}
	for _, field := range recordFields {
		if val, ok := attrs.Get(field.Attr); ok {
			if value, ok := jsonValue(field.Attr, val); ok {
				r[field.Name] = value
			}
		}
	}
	// A job's roll-ups are complete unless the processor says otherwise.
	if v.RolledUp() || v.Has(semconv.AttrJobRollupComplete) {
		r["rollup_complete"] = v.RollupComplete()
	}
	// Any other attribute keeps its attribute name.
	for k, val := range attrs.All() {
		if !mappedAttributes[k] {
			if value, ok := jsonValue(k, val); ok {
				r[k] = value
			}
		}
	}
	return r, f, key
}

// cloudEventType is the documented type of an event or record, e.g.
// com.wafermonitor.subjob.finished or com.wafermonitor.job.completed.
func cloudEventType(prefix, entityType, kind string) string {
	if entityType == "" {
		entityType = "entity"
	}
	return prefix + "." + entityType + "." + kind
}

func traceParent(traceID pcommon.TraceID, spanID pcommon.SpanID) string {
	if traceID.IsEmpty() || spanID.IsEmpty() {
		return ""
	}
	return "00-" + hex.EncodeToString(traceID[:]) + "-" + hex.EncodeToString(spanID[:]) + "-01"
}
