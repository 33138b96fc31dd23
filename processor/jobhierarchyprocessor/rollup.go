package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"fmt"

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

	// JobIDOriginal is the job id a client sent when it was not a UUID,
	// once the processor saw it (on the job or as a subjob's parent).
	JobIDOriginal string `json:"idOrig,omitempty"`

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
	v := entity.Of(span.Attributes())
	s.Total++
	switch entity.SpanOutcome(span) {
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
	if f, ok := v.CPUUserS(); ok {
		s.CPUUser += f
		s.Measured |= measuredCPUUser
	}
	if f, ok := v.CPUSystemS(); ok {
		s.CPUSystem += f
		s.Measured |= measuredCPUSystem
	}
	if f, ok := v.MemMaxMB(); ok {
		if s.Measured&measuredMem == 0 || f > s.MemMax {
			s.MemMax = f
		}
		s.Measured |= measuredMem
	}
	if d, ok := entity.SpanDuration(span); ok {
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

// ownOutcome is a job span's own outcome, before its subjobs are
// considered: entity.SpanOutcome, success when the span tells none.
func ownOutcome(span ptrace.Span) string {
	if o := entity.SpanOutcome(span); o != "" {
		return o
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

// rollups are the summary's roll-ups as every component reads them.
func (s *jobSummary) rollups() entity.Rollups {
	return entity.Rollups{
		Total: s.Total, Succeeded: s.Succeeded, Failed: s.Failed, Canceled: s.Canceled, TimedOut: s.TimedOut, Other: s.Other,
		Missing: s.missing(), HasMissing: s.HasExpected,
		Late:       s.Late,
		CPUUserSum: s.CPUUser, HasCPUUser: s.Measured&measuredCPUUser != 0,
		CPUSystemSum: s.CPUSystem, HasCPUSystem: s.Measured&measuredCPUSystem != 0,
		MemMaxMBMax: s.MemMax, HasMemMax: s.Measured&measuredMem != 0,
		DurationMin: s.DurMin, DurationMax: s.DurMax, DurationSum: s.DurSum, HasDuration: s.DurCount > 0,
		Incomplete: s.Incomplete,
	}
}

// annotateJob writes roll-ups and the rolled-up outcome onto a job span;
// where subjobs make the job fail, the span status says so.
func annotateJob(p OutcomeConfig, span ptrace.Span, s *jobSummary) string {
	own := ownOutcome(span)
	outcome, why := decide(p, own, s)
	v := entity.Of(span.Attributes())
	v.PutRollups(s.rollups())
	v.PutJobOutcome(outcome)
	if why != "" && span.Status().Code() != ptrace.StatusCodeError {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(why)
	}
	return own
}
