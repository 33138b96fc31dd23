package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// Rollups are the jobhierarchy processor's summary of a job's subjobs, as
// written on the job's span and on its follow-up records.
type Rollups struct {
	// Subjobs seen, and by status.
	Total, Succeeded, Failed, Canceled, TimedOut, Other int64
	// Missing is the declared count minus Total, written when HasMissing.
	Missing    int64
	HasMissing bool
	// Late counts subjobs that arrived after the job's span; written when
	// above 0.
	Late int64
	// Sums and peaks of the subjobs' measurements, each written when at
	// least one subjob reported it.
	CPUUserSum, CPUSystemSum, MemMaxMBMax float64
	HasCPUUser, HasCPUSystem, HasMemMax   bool
	DurationMin, DurationMax, DurationSum float64
	HasDuration                           bool
	// Incomplete marks roll-ups that lost subjobs (written as
	// wafer.job.rollup_complete = false; absent means complete).
	Incomplete bool
}

// PutRollups writes the roll-up attributes: counts as ints, measurements as
// doubles.
func (v View) PutRollups(r Rollups) {
	a := v.attrs
	a.PutInt(semconv.AttrSubjobsTotal, r.Total)
	a.PutInt(semconv.AttrSubjobsSucceeded, r.Succeeded)
	a.PutInt(semconv.AttrSubjobsFailed, r.Failed)
	a.PutInt(semconv.AttrSubjobsCanceled, r.Canceled)
	a.PutInt(semconv.AttrSubjobsTimedOut, r.TimedOut)
	a.PutInt(semconv.AttrSubjobsOther, r.Other)
	if r.HasMissing {
		a.PutInt(semconv.AttrSubjobsMissing, r.Missing)
	}
	if r.Late > 0 {
		a.PutInt(semconv.AttrSubjobsLate, r.Late)
	}
	if r.HasCPUUser {
		v.PutDouble(semconv.AttrJobCPUUserSum, r.CPUUserSum)
	}
	if r.HasCPUSystem {
		v.PutDouble(semconv.AttrJobCPUSystemSum, r.CPUSystemSum)
	}
	if r.HasMemMax {
		v.PutDouble(semconv.AttrJobMemMaxMBMax, r.MemMaxMBMax)
	}
	if r.HasDuration {
		v.PutDouble(semconv.AttrJobSubjobDurationMin, r.DurationMin)
		v.PutDouble(semconv.AttrJobSubjobDurationMax, r.DurationMax)
		v.PutDouble(semconv.AttrJobSubjobDurationSum, r.DurationSum)
	}
	if r.Incomplete {
		a.PutBool(semconv.AttrJobRollupComplete, false)
	}
}

// Field is an attribute and the name outputs give it: a CSV column, a
// field of the webhook's record, a v1 metadata field.
type Field struct {
	Attr, Name string
}

// RollupFields are the roll-up attributes in the order outputs list them,
// with their names there. The CSV exporter's default entity columns and the
// webhook's record take them from here.
var RollupFields = []Field{
	{semconv.AttrSubjobsTotal, "subjobs_total"},
	{semconv.AttrSubjobsSucceeded, "subjobs_succeeded"},
	{semconv.AttrSubjobsFailed, "subjobs_failed"},
	{semconv.AttrSubjobsCanceled, "subjobs_canceled"},
	{semconv.AttrSubjobsTimedOut, "subjobs_timed_out"},
	{semconv.AttrSubjobsOther, "subjobs_other"},
	{semconv.AttrSubjobsMissing, "subjobs_missing"},
	{semconv.AttrSubjobsLate, "subjobs_late"},
	{semconv.AttrJobCPUUserSum, "subjobs_cpu_user_s_sum"},
	{semconv.AttrJobCPUSystemSum, "subjobs_cpu_system_s_sum"},
	{semconv.AttrJobMemMaxMBMax, "subjobs_mem_max_mb_max"},
	{semconv.AttrJobSubjobDurationMin, "subjob_duration_s_min"},
	{semconv.AttrJobSubjobDurationMax, "subjob_duration_s_max"},
	{semconv.AttrJobSubjobDurationSum, "subjob_duration_s_sum"},
}

// V1MetadataFields are the event.metadata fields the v1 contract gives a
// meaning, and the attributes the receiver makes of them; the webhook
// rebuilds them from the attributes for events that came without metadata.
var V1MetadataFields = []Field{
	{semconv.AttrErrorMessage, v1event.MetadataError},
	{semconv.AttrErrorType, v1event.MetadataErrorType},
	{semconv.AttrExpectedSubjobs, v1event.MetadataExpectedSubjobs},
	{semconv.AttrProgressDone, v1event.MetadataDone},
	{semconv.AttrProgressTotal, v1event.MetadataTotal},
	{semconv.AttrProgressFraction, v1event.MetadataFraction},
	{semconv.AttrProgressMessage, v1event.MetadataMessage},
}
