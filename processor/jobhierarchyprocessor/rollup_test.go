package jobhierarchyprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// TestSubjobOutcome: a subjob's outcome, as the roll-ups count it.
func TestSubjobOutcome(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		outcome string
		code    ptrace.StatusCode
		want    string
	}{
		{name: "succeeded", status: semconv.StatusSucceeded, want: semconv.OutcomeSuccess},
		{name: "failed", status: semconv.StatusFailed, want: semconv.OutcomeFailure},
		{name: "canceled", status: semconv.StatusCanceled, want: semconv.OutcomeCancellation},
		{name: "timed out", status: semconv.StatusTimedOut, want: semconv.OutcomeTimeout},
		{name: "client status, outcome attribute", status: "done", outcome: semconv.OutcomeError, want: semconv.OutcomeError},
		{name: "client status, error span", status: "done", code: ptrace.StatusCodeError, want: semconv.OutcomeFailure},
		{name: "client status, ok span", status: "done", code: ptrace.StatusCodeOk, want: semconv.OutcomeSuccess},
		{name: "nothing known", status: "done", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.Attributes().PutStr(semconv.AttrStatus, tt.status)
			if tt.outcome != "" {
				span.Attributes().PutStr(semconv.AttrOutcome, tt.outcome)
			}
			span.Status().SetCode(tt.code)
			assert.Equal(t, tt.want, entity.SpanOutcome(span))
		})
	}
}

func TestCountsByStatus(t *testing.T) {
	s := &jobSummary{}
	for _, st := range []string{semconv.StatusSucceeded, semconv.StatusFailed, semconv.StatusCanceled, semconv.StatusTimedOut, "weird"} {
		span := ptrace.NewSpan()
		span.Attributes().PutStr(semconv.AttrStatus, st)
		s.addSubjob(span)
	}
	assert.Equal(t, jobSummary{Total: 5, Succeeded: 1, Failed: 1, Canceled: 1, TimedOut: 1, Other: 1}, *s)
}

func TestDecide(t *testing.T) {
	threshold := func(p float64) OutcomeConfig {
		return OutcomeConfig{Rule: RuleFailedPercent, FailedPercent: p, SuccessWithFailures: true}
	}
	anyFailed := OutcomeConfig{Rule: RuleAnyFailed, SuccessWithFailures: true}
	tests := []struct {
		name    string
		policy  OutcomeConfig
		own     string
		s       jobSummary
		want    string
		wantWhy string
	}{
		{name: "all fine", policy: anyFailed, own: semconv.OutcomeSuccess, s: jobSummary{Total: 3, Succeeded: 3}, want: semconv.OutcomeSuccess},
		{name: "no subjobs", policy: threshold(10), own: semconv.OutcomeSuccess, want: semconv.OutcomeSuccess},
		{name: "timed out subjob counts as failed", policy: anyFailed, own: semconv.OutcomeSuccess, s: jobSummary{Total: 2, Succeeded: 1, TimedOut: 1}, want: semconv.OutcomeFailure, wantWhy: "1 of 2 subjobs failed"},
		{name: "canceled subjob does not", policy: anyFailed, own: semconv.OutcomeSuccess, s: jobSummary{Total: 2, Succeeded: 1, Canceled: 1}, want: semconv.OutcomeSuccess},
		{name: "exactly at the threshold is not above it", policy: threshold(50), own: semconv.OutcomeSuccess, s: jobSummary{Total: 2, Succeeded: 1, Failed: 1}, want: semconv.OutcomeSuccessWithFailures},
		{name: "threshold 0 fails at the first failure", policy: threshold(0), own: semconv.OutcomeSuccess, s: jobSummary{Total: 100, Succeeded: 99, Failed: 1}, want: semconv.OutcomeFailure, wantWhy: "1 of 100 subjobs failed, more than 0%"},
		{name: "own cancellation wins", policy: anyFailed, own: semconv.OutcomeCancellation, s: jobSummary{Total: 1, Failed: 1}, want: semconv.OutcomeCancellation},
		{name: "own timeout wins", policy: anyFailed, own: semconv.OutcomeTimeout, want: semconv.OutcomeTimeout},
		{name: "missing alone, not counted", policy: anyFailed, own: semconv.OutcomeSuccess, s: jobSummary{Total: 1, Succeeded: 1, HasExpected: true, Expected: 3}, want: semconv.OutcomeSuccess},
		{name: "missing alone, counted", policy: OutcomeConfig{Rule: RuleAnyFailed, MissingAsFailed: true}, own: semconv.OutcomeSuccess, s: jobSummary{Total: 1, Succeeded: 1, HasExpected: true, Expected: 3}, want: semconv.OutcomeFailure, wantWhy: "2 of 3 subjobs failed (2 missing)"},
		{name: "more subjobs than expected", policy: OutcomeConfig{Rule: RuleAnyFailed, MissingAsFailed: true}, own: semconv.OutcomeSuccess, s: jobSummary{Total: 4, Succeeded: 4, HasExpected: true, Expected: 3}, want: semconv.OutcomeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := decide(tt.policy, tt.own, &tt.s)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantWhy, why)
		})
	}
}
