package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The writers below follow one rule: text is written when it is not empty,
// numbers when they are finite, counts as ints, measurements as doubles.

// PutEvent writes a lifecycle event's kind (and the client's kind when the
// kind is semconv.KindOther) and its idempotency key.
func (v View) PutEvent(kind, kindOriginal, idempotencyKey string) {
	v.attrs.PutStr(semconv.AttrEventKind, kind)
	putText(v.attrs, semconv.AttrEventKindOriginal, kindOriginal)
	putText(v.attrs, semconv.AttrIdempotencyKey, idempotencyKey)
}

// PutAtOriginal keeps the time a client sent that could not be used.
func (v View) PutAtOriginal(at string) { putText(v.attrs, semconv.AttrEventAtOriginal, at) }

// PutOutcome writes the entity's own terminal outcome.
func (v View) PutOutcome(outcome string) { putText(v.attrs, semconv.AttrOutcome, outcome) }

// PutJobOutcome writes a job's rolled-up outcome.
func (v View) PutJobOutcome(outcome string) { putText(v.attrs, semconv.AttrJobOutcome, outcome) }

// PutError writes the class and message of a failure.
func (v View) PutError(errType, message string) {
	putText(v.attrs, semconv.AttrErrorType, errType)
	putText(v.attrs, semconv.AttrErrorMessage, message)
}

// PutExpectedSubjobs writes how many subjobs a job declares.
func (v View) PutExpectedSubjobs(n int64) { v.attrs.PutInt(semconv.AttrExpectedSubjobs, n) }

// PutMetric writes a measurement under its v1 key (semconv.MetricKey* or a
// client's own); a value that is not finite is no measurement and is left out.
func (v View) PutMetric(key string, value float64) {
	v.PutDouble(semconv.MetricPrefix+key, value)
}

// PutDouble writes any numeric attribute when the value is finite.
func (v View) PutDouble(attr string, value float64) {
	if finite(value) {
		v.attrs.PutDouble(attr, value)
	}
}

// Progress is what a progress event tells: work units done of a total, the
// fraction done, a message. The Has fields say which numbers were sent.
type Progress struct {
	Done, Total, Fraction          float64
	HasDone, HasTotal, HasFraction bool
	Message                        string
}

// PutProgress writes a progress event's fields; without a fraction, it is
// done/total when both are known and total is above 0.
func (v View) PutProgress(p Progress) {
	if p.HasDone {
		v.PutDouble(semconv.AttrProgressDone, p.Done)
	}
	if p.HasTotal {
		v.PutDouble(semconv.AttrProgressTotal, p.Total)
	}
	switch {
	case p.HasFraction:
		v.PutDouble(semconv.AttrProgressFraction, p.Fraction)
	case p.HasDone && p.HasTotal && p.Total > 0:
		v.PutDouble(semconv.AttrProgressFraction, p.Done/p.Total)
	}
	putText(v.attrs, semconv.AttrProgressMessage, p.Message)
}
