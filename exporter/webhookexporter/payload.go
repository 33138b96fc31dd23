package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

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

// rollupFields names the jobhierarchy processor's roll-ups in a record.
var rollupFields = map[string]string{
	semconv.AttrSubjobsTotal:         "subjobs_total",
	semconv.AttrSubjobsSucceeded:     "subjobs_succeeded",
	semconv.AttrSubjobsFailed:        "subjobs_failed",
	semconv.AttrSubjobsCanceled:      "subjobs_canceled",
	semconv.AttrSubjobsTimedOut:      "subjobs_timed_out",
	semconv.AttrSubjobsOther:         "subjobs_other",
	semconv.AttrSubjobsMissing:       "subjobs_missing",
	semconv.AttrSubjobsLate:          "subjobs_late",
	semconv.AttrJobCPUUserSum:        "subjobs_cpu_user_s_sum",
	semconv.AttrJobCPUSystemSum:      "subjobs_cpu_system_s_sum",
	semconv.AttrJobMemMaxMBMax:       "subjobs_mem_max_mb_max",
	semconv.AttrJobSubjobDurationMin: "subjob_duration_s_min",
	semconv.AttrJobSubjobDurationMax: "subjob_duration_s_max",
	semconv.AttrJobSubjobDurationSum: "subjob_duration_s_sum",
	semconv.AttrJobOutcome:           "job_outcome",
	semconv.AttrExpectedSubjobs:      "expected_subjobs",
	semconv.AttrSubjobLate:           "late",
}

// Attributes that a record or v1 event names itself; every other span
// attribute is copied into a record under its own name.
var mappedAttributes = map[string]bool{
	semconv.AttrEntityType: true, semconv.AttrEntityID: true, semconv.AttrParentID: true,
	semconv.AttrBusinessKey: true, semconv.AttrSubKey: true, semconv.AttrOrphan: true,
	semconv.AttrStatus: true, semconv.AttrOutcome: true, semconv.AttrErrorType: true,
	semconv.AttrErrorMessage: true, semconv.AttrDurationS: true, semconv.AttrCPUUserS: true,
	semconv.AttrCPUSystemS: true, semconv.AttrMemMaxMB: true, semconv.AttrMetadata: true,
	semconv.AttrJobRollupComplete: true,
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func optStr(attrs pcommon.Map, key string) *string {
	return v1event.Optional(str(attrs, key))
}

func num(attrs pcommon.Map, key string) (float64, bool) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false
	}
	return numValue(v)
}

// numValue reads a finite number; JSON has no NaN or infinity.
func numValue(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
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

// original is the id string a client sent, kept in attribute key when it
// was not a UUID, or else id.
func original(attrs pcommon.Map, key, id string) string {
	if s := str(attrs, key); s != "" {
		return s
	}
	return id
}

// derivedKey is the key the wafermonitor receiver derives for an event sent
// without one, so that the same event gets the same key on every path.
func derivedKey(entityID, kind string, at pcommon.Timestamp) string {
	return "derived:" + entityID + ":" + kind + ":" + strconv.FormatInt(at.AsTime().UnixNano(), 10)
}

func resourceFacts(res pcommon.Resource) facts {
	attrs := res.Attributes()
	return facts{
		site:    str(attrs, semconv.AttrSiteID),
		appName: str(attrs, semconv.AttrServiceName),
		appID:   str(attrs, semconv.AttrAppID),
	}
}

// isLifecycle tells a job or subjob lifecycle event from any other log
// record that shares the pipeline (application logs over OTLP): only
// events have an entity and a kind.
func isLifecycle(attrs pcommon.Map) bool {
	return str(attrs, semconv.AttrEntityID) != "" && str(attrs, semconv.AttrEventKind) != ""
}

// isEntity tells a job or subjob span from any other span.
func isEntity(attrs pcommon.Map) bool {
	return str(attrs, semconv.AttrEntityID) != ""
}

// eventOf rebuilds the v1 event of a log record.
func eventOf(res pcommon.Resource, lr plog.LogRecord) (v1event.Event, facts) {
	ra := res.Attributes()
	attrs := lr.Attributes()
	f := resourceFacts(res)
	f.kind = str(attrs, semconv.AttrEventKind)
	f.status = str(attrs, semconv.AttrStatus)
	f.outcome = str(attrs, semconv.AttrOutcome)
	f.entityType = str(attrs, semconv.AttrEntityType)

	at := pcommon.NewTimestampFromTime(eventTime(lr))
	entityID := str(attrs, semconv.AttrEntityID)
	key := str(attrs, semconv.AttrIdempotencyKey)
	if key == "" {
		key = derivedKey(entityID, f.kind, at)
	}
	ev := v1event.Event{
		IdempotencyKey: key,
		SiteID:         f.site,
		App:            v1event.App{AppID: original(ra, semconv.AttrAppIDOriginal, f.appID), Name: f.appName, Version: str(ra, semconv.AttrServiceVersion)},
		Entity: v1event.Entity{
			Type:        f.entityType,
			ID:          original(attrs, semconv.AttrEntityIDOriginal, entityID),
			ParentID:    v1event.Optional(original(attrs, semconv.AttrParentIDOriginal, str(attrs, semconv.AttrParentID))),
			BusinessKey: optStr(attrs, semconv.AttrBusinessKey),
			SubKey:      optStr(attrs, semconv.AttrSubKey),
		},
		Event: v1event.Body{
			Kind:     f.kind,
			At:       v1Time(at),
			Status:   f.status,
			Metrics:  metricsOf(attrs),
			Metadata: metadataOf(attrs),
		},
	}
	return ev, f
}

// metricsOf collects the wafer.metric.* attributes under their v1 keys.
func metricsOf(attrs pcommon.Map) map[string]float64 {
	m := map[string]float64{}
	for k, v := range attrs.All() {
		name, ok := strings.CutPrefix(k, semconv.MetricPrefix)
		if !ok || name == "" {
			continue
		}
		if f, ok := numValue(v); ok {
			m[name] = f
		}
	}
	return m
}

// metadataOf returns wafer.metadata unchanged. A record without it (an event
// from OTLP or synthesised by the jobhierarchy processor) gets the metadata
// fields the v1 clients send, rebuilt from their attributes.
func metadataOf(attrs pcommon.Map) map[string]any {
	if v, ok := attrs.Get(semconv.AttrMetadata); ok && v.Type() == pcommon.ValueTypeMap {
		return jsonSafe(v.Map().AsRaw()).(map[string]any)
	}
	md := map[string]any{}
	for key, attr := range metadataAttributes {
		if v, ok := attrs.Get(attr); ok {
			md[key] = jsonSafe(v.AsRaw())
		}
	}
	return md
}

// metadataAttributes maps v1 metadata keys to the attributes the
// wafermonitor receiver derives from them.
var metadataAttributes = map[string]string{
	"error":            semconv.AttrErrorMessage,
	"error_type":       semconv.AttrErrorType,
	"expected_subjobs": semconv.AttrExpectedSubjobs,
	"done":             semconv.AttrProgressDone,
	"total":            semconv.AttrProgressTotal,
	"fraction":         semconv.AttrProgressFraction,
	"message":          semconv.AttrProgressMessage,
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
	f := resourceFacts(res)
	f.status = str(attrs, semconv.AttrStatus)
	f.kind = kindOfSpan(f.status)
	f.outcome = str(attrs, semconv.AttrOutcome)
	if f.outcome == "" {
		f.outcome = semconv.OutcomeOf(f.status)
	}
	f.entityType = str(attrs, semconv.AttrEntityType)
	entityID := str(attrs, semconv.AttrEntityID)
	key := derivedKey(entityID, f.kind, span.EndTimestamp())

	r := map[string]any{
		"idempotency_key": key,
		"site_id":         f.site,
		"service_name":    f.appName,
		"entity_type":     f.entityType,
		"entity_id":       entityID,
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
	put("service_version", str(res.Attributes(), semconv.AttrServiceVersion))
	put("app_id", f.appID)
	put("parent_id", str(attrs, semconv.AttrParentID))
	put("business_key", str(attrs, semconv.AttrBusinessKey))
	put("sub_key", str(attrs, semconv.AttrSubKey))
	put("outcome", f.outcome)
	put("error_type", str(attrs, semconv.AttrErrorType))
	put("error_message", str(attrs, semconv.AttrErrorMessage))
	if v, ok := attrs.Get(semconv.AttrOrphan); ok && v.Bool() {
		r["orphan"] = true
	}
	if d, ok := num(attrs, semconv.AttrDurationS); ok {
		r["duration_s"] = d
	} else {
		r["duration_s"] = span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()).Seconds()
	}
	for name, attr := range map[string]string{"cpu_user_s": semconv.AttrCPUUserS, "cpu_system_s": semconv.AttrCPUSystemS, "mem_max_mb": semconv.AttrMemMaxMB} {
		if v, ok := num(attrs, attr); ok {
			r[name] = v
		}
	}
	if v, ok := attrs.Get(semconv.AttrMetadata); ok {
		r["metadata"] = jsonSafe(v.AsRaw())
	}
	rollups := false
	for attr, name := range rollupFields {
		if v, ok := attrs.Get(attr); ok {
			r[name] = jsonSafe(v.AsRaw())
			rollups = rollups || attr != semconv.AttrSubjobLate && attr != semconv.AttrExpectedSubjobs
		}
	}
	// A job's roll-ups are complete unless the processor says otherwise.
	if v, ok := attrs.Get(semconv.AttrJobRollupComplete); ok {
		r["rollup_complete"] = v.Type() != pcommon.ValueTypeBool || v.Bool()
	} else if rollups {
		r["rollup_complete"] = true
	}
	// Any other attribute keeps its attribute name.
	for k, v := range attrs.All() {
		if _, rollup := rollupFields[k]; !rollup && !mappedAttributes[k] {
			r[k] = jsonSafe(v.AsRaw())
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
