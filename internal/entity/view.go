package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// View reads and writes the sdk/semconv attributes of one span or log
// record (or a resource's). It holds the attribute map, nothing else: make
// one where the attributes are at hand, Of(lr.Attributes()).
type View struct {
	attrs pcommon.Map
}

// Of is the view of an attribute map.
func Of(attrs pcommon.Map) View { return View{attrs: attrs} }

// Attributes is the map the view reads and writes.
func (v View) Attributes() pcommon.Map { return v.attrs }

func (v View) text(key string) string {
	if val, ok := v.attrs.Get(key); ok {
		return Text(val)
	}
	return ""
}

// Number reads any numeric attribute (Number's rules).
func (v View) Number(key string) (float64, bool) {
	if val, ok := v.attrs.Get(key); ok {
		return Number(val)
	}
	return 0, false
}

// Int reads any whole-number attribute (Int's rules).
func (v View) Int(key string) (int64, bool) {
	if val, ok := v.attrs.Get(key); ok {
		return Int(val)
	}
	return 0, false
}

// Bool reads any boolean attribute (Bool's rules).
func (v View) Bool(key string) (value, ok bool) {
	if val, ok := v.attrs.Get(key); ok {
		return Bool(val)
	}
	return false, false
}

// Text reads any attribute as text (Text's rules); "" when absent.
func (v View) Text(key string) string { return v.text(key) }

// Has tells whether the attribute is present, whatever its value.
func (v View) Has(key string) bool {
	_, ok := v.attrs.Get(key)
	return ok
}

// Type is the entity type, "job" or "subjob" ("" on anything that is no entity).
func (v View) Type() string { return v.text(semconv.AttrEntityType) }

// ID is the entity's UUID.
func (v View) ID() string { return v.text(semconv.AttrEntityID) }

// ParentID is a subjob's parent job UUID.
func (v View) ParentID() string { return v.text(semconv.AttrParentID) }

// BusinessKey is the application's name for the job ("lot-4711").
func (v View) BusinessKey() string { return v.text(semconv.AttrBusinessKey) }

// SubKey names a subjob within its job ("wafer-07").
func (v View) SubKey() string { return v.text(semconv.AttrSubKey) }

// IDOriginal is the id the client sent when it was not a UUID.
func (v View) IDOriginal() string { return v.text(semconv.AttrEntityIDOriginal) }

// ParentIDOriginal is the parent id the client sent when it was not a UUID.
func (v View) ParentIDOriginal() string { return v.text(semconv.AttrParentIDOriginal) }

// Ref reads the entity's identity and originals.
func (v View) Ref() Ref {
	return Ref{
		Type: v.Type(), ID: v.ID(), ParentID: v.ParentID(), BusinessKey: v.BusinessKey(), SubKey: v.SubKey(),
		TypeOriginal: v.text(semconv.AttrEntityTypeOriginal), IDOriginal: v.IDOriginal(), ParentIDOriginal: v.ParentIDOriginal(),
	}
}

// Orphan tells a subjob that came without any parent id.
func (v View) Orphan() bool {
	b, _ := v.Bool(semconv.AttrOrphan)
	return b
}

// Status is the entity's status: a semconv.Status* value or a client's own.
func (v View) Status() string { return v.text(semconv.AttrStatus) }

// Outcome is the entity's own terminal outcome: cicd.pipeline.result when
// set, else the one its status implies; "" for neither.
func (v View) Outcome() string {
	if o := v.text(semconv.AttrOutcome); o != "" {
		return o
	}
	return semconv.OutcomeOf(v.Status())
}

// JobOutcome is a job's outcome rolled up from its subjobs by the
// jobhierarchy processor; "" when it was not rolled up.
func (v View) JobOutcome() string { return v.text(semconv.AttrJobOutcome) }

// ErrorType is the class of a failure (error.type).
func (v View) ErrorType() string { return v.text(semconv.AttrErrorType) }

// ErrorMessage is the human-readable failure message.
func (v View) ErrorMessage() string { return v.text(semconv.AttrErrorMessage) }

// ExpectedSubjobs is how many subjobs a job declares, when it does.
func (v View) ExpectedSubjobs() (int64, bool) { return v.Int(semconv.AttrExpectedSubjobs) }

// Kind is a lifecycle event's kind; "" on anything that is no event.
func (v View) Kind() string { return v.text(semconv.AttrEventKind) }

// KindOriginal is the client's kind when Kind is semconv.KindOther.
func (v View) KindOriginal() string { return v.text(semconv.AttrEventKindOriginal) }

// SentKind is the kind as the client sent it: KindOriginal when set, else Kind.
func (v View) SentKind() string {
	if k := v.KindOriginal(); k != "" {
		return k
	}
	return v.Kind()
}

// AtOriginal is the client's time when the receiver could not use it.
func (v View) AtOriginal() string { return v.text(semconv.AttrEventAtOriginal) }

// IdempotencyKey is the event's key across retries and paths.
func (v View) IdempotencyKey() string { return v.text(semconv.AttrIdempotencyKey) }

// IsEvent tells a job's or subjob's lifecycle event from any other log
// record that shares a pipeline (application logs over OTLP).
func (v View) IsEvent() bool { return v.ID() != "" && v.Kind() != "" }

// Metric reads a measurement by its v1 key (semconv.MetricKey*, or any
// other metric a client sent): the wafer.metric.<key> attribute, Number's
// rules.
func (v View) Metric(key string) (float64, bool) { return v.Number(semconv.MetricPrefix + key) }

// DurationS, CPUUserS, CPUSystemS and MemMaxMB are the standard measurements.
func (v View) DurationS() (float64, bool)  { return v.Number(semconv.AttrDurationS) }
func (v View) CPUUserS() (float64, bool)   { return v.Number(semconv.AttrCPUUserS) }
func (v View) CPUSystemS() (float64, bool) { return v.Number(semconv.AttrCPUSystemS) }
func (v View) MemMaxMB() (float64, bool)   { return v.Number(semconv.AttrMemMaxMB) }

// Metrics calls yield with every measurement that is a number, by its v1
// key, in attribute order.
func (v View) Metrics(yield func(key string, value float64)) {
	for k, val := range v.attrs.All() {
		key, ok := strings.CutPrefix(k, semconv.MetricPrefix)
		if !ok || key == "" {
			continue
		}
		if f, ok := Number(val); ok {
			yield(key, f)
		}
	}
}

// Metadata is the event's metadata as the client sent it: an object as a
// map, or any other JSON value.
func (v View) Metadata() (pcommon.Value, bool) { return v.attrs.Get(semconv.AttrMetadata) }

// RolledUp tells a job whose span or record carries the jobhierarchy
// processor's roll-ups.
func (v View) RolledUp() bool {
	return v.Has(semconv.AttrSubjobsTotal) || v.Has(semconv.AttrJobOutcome)
}

// RollupComplete is false on a job whose roll-ups lost subjobs; true
// otherwise (also when the attribute is absent or no boolean).
func (v View) RollupComplete() bool {
	complete, ok := v.Bool(semconv.AttrJobRollupComplete)
	return !ok || complete
}

// SpanOutcome is a span's outcome: the entity's own (Outcome), else the
// one its span status implies (ERROR a failure, OK a success).
func SpanOutcome(span ptrace.Span) string {
	if o := Of(span.Attributes()).Outcome(); o != "" {
		return o
	}
	switch span.Status().Code() {
	case ptrace.StatusCodeError:
		return semconv.OutcomeFailure
	case ptrace.StatusCodeOk:
		return semconv.OutcomeSuccess
	}
	return ""
}

// SpanDuration is an entity's wall time in seconds: wafer.metric.duration_s
// when it is a number, else the span's end minus its start when both are
// set and the end is after the start.
func SpanDuration(span ptrace.Span) (float64, bool) {
	if d, ok := Of(span.Attributes()).DurationS(); ok {
		return d, true
	}
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if start == 0 || end <= start {
		return 0, false
	}
	return end.AsTime().Sub(start.AsTime()).Seconds(), true
}
