package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Which optional measurements a summary has seen.
const (
	measuredCPUUser = 1 << iota
	measuredCPUSystem
	measuredMem
)

// jobSummary is what the processor holds per job: counts and aggregates of
// the job's subjobs and the hashes of the subjobs counted, never the subjobs
// themselves. Times are Unix nanoseconds of the processor's clock. The JSON
// form is the one the first storage format used (see legacy.go).
type jobSummary struct {
	JobID       string          `json:"id"`
	Res         entity.Resource `json:"res"`
	BusinessKey string          `json:"bk,omitempty"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`

	HasExpected bool  `json:"hasExp,omitempty"`
	Expected    int64 `json:"exp,omitempty"`

	Total     int64 `json:"n,omitempty"`
	Succeeded int64 `json:"ok,omitempty"`
	Failed    int64 `json:"fail,omitempty"`
	Canceled  int64 `json:"cancel,omitempty"`
	TimedOut  int64 `json:"tout,omitempty"`
	Other     int64 `json:"other,omitempty"`

	Measured  int     `json:"m,omitempty"`
	CPUUser   float64 `json:"cpuU,omitempty"`
	CPUSystem float64 `json:"cpuS,omitempty"`
	MemMax    float64 `json:"mem,omitempty"`
	DurCount  int64   `json:"durN,omitempty"`
	DurMin    float64 `json:"durMin,omitempty"`
	DurMax    float64 `json:"durMax,omitempty"`
	DurSum    float64 `json:"durSum,omitempty"`

	Late        int64 `json:"late,omitempty"`
	PendingLate int64 `json:"pendLate,omitempty"`

	// Passed is set once the job's span went through; OwnOutcome is the
	// job's own outcome then, for the follow-up on late subjobs.
	Passed         bool   `json:"passed,omitempty"`
	PassedAt       int64  `json:"passedAt,omitempty"`
	OwnOutcome     string `json:"own,omitempty"`
	OwnStatus      string `json:"ownStatus,omitempty"`
	OrphanReported bool   `json:"orphan,omitempty"`

	// Known is set once the job itself reported (a lifecycle record or its
	// span): its summary is no orphan noise and is evicted last.
	Known bool `json:"-"`
	// Incomplete is set on a summary made again after the job's earlier
	// summary was evicted: its roll-ups miss the subjobs counted before.
	Incomplete bool `json:"-"`

	// ids are the hashes of the subjobs counted; unsaved those counted since
	// the summary was last written to storage, and saved whether it was
	// written at all since it was made.
	ids     idSet
	unsaved []uint64
	saved   bool
}

// addSubjob folds one subjob span into the summary.
func (s *jobSummary) addSubjob(span ptrace.Span) {
	attrs := span.Attributes()
	s.Total++
	switch subjobOutcome(span) {
	case semconv.OutcomeSuccess:
		s.Succeeded++
	case semconv.OutcomeFailure, semconv.OutcomeError:
		s.Failed++
	case semconv.OutcomeCancellation:
		s.Canceled++
	case semconv.OutcomeTimeout:
		s.TimedOut++
	default:
		s.Other++
	}
	if v, ok := number(attrs, semconv.AttrCPUUserS); ok {
		s.CPUUser += v
		s.Measured |= measuredCPUUser
	}
	if v, ok := number(attrs, semconv.AttrCPUSystemS); ok {
		s.CPUSystem += v
		s.Measured |= measuredCPUSystem
	}
	if v, ok := number(attrs, semconv.AttrMemMaxMB); ok {
		if s.Measured&measuredMem == 0 || v > s.MemMax {
			s.MemMax = v
		}
		s.Measured |= measuredMem
	}
	d, ok := number(attrs, semconv.AttrDurationS)
	if !ok && span.EndTimestamp() > span.StartTimestamp() && span.StartTimestamp() != 0 {
		d, ok = span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()).Seconds(), true
	}
	if ok {
		if s.DurCount == 0 || d < s.DurMin {
			s.DurMin = d
		}
		if s.DurCount == 0 || d > s.DurMax {
			s.DurMax = d
		}
		s.DurSum += d
		s.DurCount++
	}
}

// subjobOutcome reads a subjob span's outcome: its status attribute, else
// its outcome attribute, else its span status.
func subjobOutcome(span ptrace.Span) string {
	attrs := span.Attributes()
	if o := semconv.OutcomeOf(str(attrs, semconv.AttrStatus)); o != "" {
		return o
	}
	if o := str(attrs, semconv.AttrOutcome); o != "" {
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

// ownOutcome is a job span's own outcome, before its subjobs are considered.
func ownOutcome(span ptrace.Span) string {
	attrs := span.Attributes()
	if o := semconv.OutcomeOf(str(attrs, semconv.AttrStatus)); o != "" {
		return o
	}
	if o := str(attrs, semconv.AttrOutcome); o != "" {
		return o
	}
	if span.Status().Code() == ptrace.StatusCodeError {
		return semconv.OutcomeFailure
	}
	return semconv.OutcomeSuccess
}

func (s *jobSummary) setExpected(n int64) {
	if n >= 0 {
		s.HasExpected, s.Expected = true, n
	}
}

func (s *jobSummary) missing() int64 {
	if !s.HasExpected || s.Expected <= s.Total {
		return 0
	}
	return s.Expected - s.Total
}

// decide applies the outcome policy. It returns the rolled-up outcome and,
// when subjobs made the job fail, a message saying why.
func decide(p OutcomeConfig, own string, s *jobSummary) (string, string) {
	switch own {
	case semconv.OutcomeFailure, semconv.OutcomeError, semconv.OutcomeCancellation, semconv.OutcomeTimeout:
		return own, ""
	}
	failed := s.Failed + s.TimedOut
	considered := s.Total
	missing := s.missing()
	if p.MissingAsFailed {
		failed += missing
		considered += missing
	}
	why := func() string {
		msg := fmt.Sprintf("%d of %d subjobs failed", failed, considered)
		if missing > 0 {
			msg += fmt.Sprintf(" (%d missing)", missing)
		}
		return msg
	}
	switch p.Rule {
	case RuleAnyFailed:
		if failed > 0 {
			return semconv.OutcomeFailure, why()
		}
	case RuleFailedPercent:
		if considered > 0 && float64(failed)*100/float64(considered) > p.FailedPercent {
			return semconv.OutcomeFailure, why() + fmt.Sprintf(", more than %g%%", p.FailedPercent)
		}
	}
	if failed > 0 && p.SuccessWithFailures {
		return semconv.OutcomeSuccessWithFailures, ""
	}
	return own, ""
}

// putRollups writes the summary's roll-up attributes.
func (s *jobSummary) putRollups(attrs pcommon.Map) {
	attrs.PutInt(semconv.AttrSubjobsTotal, s.Total)
	attrs.PutInt(semconv.AttrSubjobsSucceeded, s.Succeeded)
	attrs.PutInt(semconv.AttrSubjobsFailed, s.Failed)
	attrs.PutInt(semconv.AttrSubjobsCanceled, s.Canceled)
	attrs.PutInt(semconv.AttrSubjobsTimedOut, s.TimedOut)
	attrs.PutInt(semconv.AttrSubjobsOther, s.Other)
	if s.HasExpected {
		attrs.PutInt(semconv.AttrSubjobsMissing, s.missing())
	}
	if s.Late > 0 {
		attrs.PutInt(semconv.AttrSubjobsLate, s.Late)
	}
	if s.Measured&measuredCPUUser != 0 {
		attrs.PutDouble(semconv.AttrJobCPUUserSum, s.CPUUser)
	}
	if s.Measured&measuredCPUSystem != 0 {
		attrs.PutDouble(semconv.AttrJobCPUSystemSum, s.CPUSystem)
	}
	if s.Measured&measuredMem != 0 {
		attrs.PutDouble(semconv.AttrJobMemMaxMBMax, s.MemMax)
	}
	if s.DurCount > 0 {
		attrs.PutDouble(semconv.AttrJobSubjobDurationMin, s.DurMin)
		attrs.PutDouble(semconv.AttrJobSubjobDurationMax, s.DurMax)
		attrs.PutDouble(semconv.AttrJobSubjobDurationSum, s.DurSum)
	}
	if s.Incomplete {
		attrs.PutBool(semconv.AttrJobRollupComplete, false)
	}
}

// annotateJob writes roll-ups and the rolled-up outcome onto a job span;
// where subjobs make the job fail, the span status says so.
func annotateJob(p OutcomeConfig, span ptrace.Span, s *jobSummary) string {
	own := ownOutcome(span)
	outcome, why := decide(p, own, s)
	attrs := span.Attributes()
	s.putRollups(attrs)
	attrs.PutStr(semconv.AttrJobOutcome, outcome)
	if why != "" && span.Status().Code() != ptrace.StatusCodeError {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(why)
	}
	return own
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// number reads a numeric attribute sent as double or int.
func number(attrs pcommon.Map, key string) (float64, bool) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	}
	return 0, false
}

func integer(attrs pcommon.Map, key string) (int64, bool) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return int64(v.Double()), true
	}
	return 0, false
}
