package semconv

// Resource attributes. service.name and service.version carry the
// application's name and version (OpenTelemetry's own conventions).
const (
	AttrServiceName    = "service.name"
	AttrServiceVersion = "service.version"
	// AttrSiteID names the factory site, e.g. "fab1".
	AttrSiteID = "wafer.site.id"
	// AttrAppID is the application's UUID as the old clients send it.
	AttrAppID = "wafer.app.id"
	// AttrAppIDOriginal keeps the app id a client sent when it was not a UUID
	// ("my-app"); AttrAppID is then a name-based UUID derived from it.
	AttrAppIDOriginal = "wafer.app.id.original"
)

// Entity attributes, on spans and log records.
const (
	// AttrEntityType is EntityTypeJob or EntityTypeSubjob.
	AttrEntityType = "wafer.entity.type"
	// AttrEntityTypeOriginal keeps a client's own type name (JOB, WAFER, LOT...)
	// when it was normalised to job or subjob.
	AttrEntityTypeOriginal = "wafer.entity.type.original"
	// AttrEntityID is the entity's UUID in canonical lower-case form.
	AttrEntityID = "wafer.entity.id"
	// AttrEntityIDOriginal keeps the id a client sent when it was not a UUID
	// ("job-123"); AttrEntityID is then a name-based UUID derived from it.
	AttrEntityIDOriginal = "wafer.entity.id.original"
	// AttrParentID is the parent job's UUID (subjobs only).
	AttrParentID = "wafer.entity.parent_id"
	// AttrParentIDOriginal keeps the parent id a client sent when it was not a UUID.
	AttrParentIDOriginal = "wafer.entity.parent_id.original"
	// AttrBusinessKey is the application's own name for the job, e.g. "lot-4711".
	AttrBusinessKey = "wafer.entity.business_key"
	// AttrSubKey names a subjob within its job, e.g. "wafer-07".
	AttrSubKey = "wafer.entity.sub_key"
	// AttrOrphan is true on a subjob that arrived without any parent id.
	AttrOrphan = "wafer.entity.orphan"
	// AttrStatus is the entity's status: one of the Status* values, or a
	// client's own value passed through.
	AttrStatus = "wafer.status"
	// AttrOutcome is the terminal outcome in OpenTelemetry's CI/CD value set
	// (the Outcome* values).
	AttrOutcome = "cicd.pipeline.result"
	// AttrErrorType is OpenTelemetry's error.type: the class of a failure.
	AttrErrorType = "error.type"
	// AttrErrorMessage is the human-readable failure message.
	AttrErrorMessage = "wafer.error.message"
	// AttrExpectedSubjobs is how many subjobs a job declares it will run.
	AttrExpectedSubjobs = "wafer.job.expected_subjobs"
	// AttrMetadata is the event's free-form metadata object, as a map (a
	// client's metadata of another JSON type is kept as that value).
	AttrMetadata = "wafer.metadata"
)

// Event attributes, on log records.
const (
	// AttrEventKind is one of the Kind* values.
	AttrEventKind = "wafer.event.kind"
	// AttrEventKindOriginal keeps a kind name the v1 contract does not know
	// ("heartbeat"), which is taken as a non-terminal event.
	AttrEventKindOriginal = "wafer.event.kind.original"
	// AttrEventAtOriginal keeps the time a client sent when it could not be
	// read or lay outside the window the receiver takes as plausible
	// ("9999-12-31", "yesterday", 0); the event's time is then the receive time.
	AttrEventAtOriginal = "wafer.event.at.original"
	// AttrIdempotencyKey identifies one event across retries and paths.
	AttrIdempotencyKey = "wafer.event.idempotency_key"
	// AttrProgressDone and AttrProgressTotal count work units of a progress event.
	AttrProgressDone  = "wafer.progress.done"
	AttrProgressTotal = "wafer.progress.total"
	// AttrProgressFraction is done/total in [0, 1].
	AttrProgressFraction = "wafer.progress.fraction"
	// AttrProgressMessage is a free-form progress message.
	AttrProgressMessage = "wafer.progress.message"
)

// Measurements, on spans and log records. MetricPrefix followed by the
// client's metric key names any other numeric metric, e.g.
// "wafer.metric.wafers".
const (
	MetricPrefix        = "wafer.metric."
	AttrDurationS       = MetricPrefix + MetricKeyDurationS
	AttrCPUUserS        = MetricPrefix + MetricKeyCPUUserS
	AttrCPUSystemS      = MetricPrefix + MetricKeyCPUSystemS
	AttrMemMaxMB        = MetricPrefix + MetricKeyMemMaxMB
	MetricKeyDurationS  = "duration_s"
	MetricKeyCPUUserS   = "cpu_user_s"
	MetricKeyCPUSystemS = "cpu_system_s"
	MetricKeyMemMaxMB   = "mem_max_mb"
	// AttrMetricsUnparsed keeps the metrics a client sent whose values are not
	// numbers ("abc", an object, true), as a map of metric key to the value as
	// sent; when the metrics field itself was not an object, the value as sent.
	AttrMetricsUnparsed = "wafer.metrics.unparsed"
)

// Entity types.
const (
	EntityTypeJob    = "job"
	EntityTypeSubjob = "subjob"
)

// Event kinds. KindStalled, KindTimeout and KindRecovered are synthetic: the
// jobhierarchy processor's watchdog emits them.
const (
	KindStarted   = "started"
	KindProgress  = "progress"
	KindMetric    = "metric"
	KindFinished  = "finished"
	KindError     = "error"
	KindCanceled  = "canceled"
	KindStalled   = "stalled"
	KindTimeout   = "timeout"
	KindRecovered = "recovered"
	// KindOther is an event whose kind the v1 contract does not know
	// ("heartbeat", or none): not terminal; AttrEventKindOriginal keeps the
	// client's name.
	KindOther = "other"
)

// IsTerminal reports whether an event of this kind ends its entity.
func IsTerminal(kind string) bool {
	switch kind {
	case KindFinished, KindError, KindCanceled, KindTimeout:
		return true
	}
	return false
}

// Statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
	StatusTimedOut  = "timed_out"
)

// Outcomes: OpenTelemetry's cicd.pipeline.result values.
const (
	OutcomeSuccess      = "success"
	OutcomeFailure      = "failure"
	OutcomeCancellation = "cancellation"
	OutcomeError        = "error"
	OutcomeTimeout      = "timeout"
)

// OutcomeOf maps a terminal status to its outcome; "" for a status that is
// not terminal.
func OutcomeOf(status string) string {
	switch status {
	case StatusSucceeded:
		return OutcomeSuccess
	case StatusFailed:
		return OutcomeFailure
	case StatusCanceled:
		return OutcomeCancellation
	case StatusTimedOut:
		return OutcomeTimeout
	}
	return ""
}

// Metric names and their low-cardinality attributes (AttrSiteID,
// AttrServiceName, AttrEntityType, AttrStatus, AttrEventKind). An entity id
// is never a metric attribute.
const (
	MetricEntityDuration  = "wafer.entity.duration"
	MetricEntityCPUUser   = "wafer.entity.cpu.user"
	MetricEntityCPUSystem = "wafer.entity.cpu.system"
	MetricEntityMemoryMax = "wafer.entity.memory.max"
	MetricEntityCompleted = "wafer.entity.completed"
	MetricEvents          = "wafer.events"
)

// The Go SDK's own health: v1 events it dropped because its send queue was
// full, and v1 events it could not deliver (the receiver refused them or
// could not be reached). No attributes.
const (
	MetricSDKEventsDropped = "wafer.sdk.events.dropped"
	MetricSDKEventsFailed  = "wafer.sdk.events.failed"
)

// EventName is the log record event name for a lifecycle event kind, e.g.
// "wafer.job.started".
func EventName(entityType, kind string) string {
	return "wafer." + entityType + "." + kind
}

// ---------------------------------------------------------------------------
// jobhierarchy processor: roll-ups of subjobs onto their job, the job's
// rolled-up outcome, late and orphan subjobs, and the watchdog's details.
// ---------------------------------------------------------------------------

// Roll-up attributes on a job's span (and on the processor's follow-up log
// records for the job). Counts are ints, measurements doubles.
const (
	// AttrSubjobsTotal is how many subjob spans of the job were seen.
	AttrSubjobsTotal = "wafer.job.subjobs.total"
	// AttrSubjobsSucceeded, AttrSubjobsFailed, AttrSubjobsCanceled and
	// AttrSubjobsTimedOut count subjobs by status; AttrSubjobsOther counts
	// subjobs with any other (client-defined or missing) status.
	AttrSubjobsSucceeded = "wafer.job.subjobs.succeeded"
	AttrSubjobsFailed    = "wafer.job.subjobs.failed"
	AttrSubjobsCanceled  = "wafer.job.subjobs.canceled"
	AttrSubjobsTimedOut  = "wafer.job.subjobs.timed_out"
	AttrSubjobsOther     = "wafer.job.subjobs.other"
	// AttrSubjobsMissing is AttrExpectedSubjobs minus the subjobs seen, when
	// the job declared how many it expects.
	AttrSubjobsMissing = "wafer.job.subjobs.missing"
	// AttrSubjobsLate counts subjobs that arrived after the job's span.
	AttrSubjobsLate = "wafer.job.subjobs.late"
	// AttrJobCPUUserSum and AttrJobCPUSystemSum sum the subjobs' CPU seconds.
	AttrJobCPUUserSum   = "wafer.job.cpu_user_s.sum"
	AttrJobCPUSystemSum = "wafer.job.cpu_system_s.sum"
	// AttrJobMemMaxMBMax is the highest peak memory of any subjob, in MiB.
	AttrJobMemMaxMBMax = "wafer.job.mem_max_mb.max"
	// AttrJobSubjobDurationMin, ...Max and ...Sum summarise the subjobs'
	// wall durations in seconds.
	AttrJobSubjobDurationMin = "wafer.job.subjob_duration_s.min"
	AttrJobSubjobDurationMax = "wafer.job.subjob_duration_s.max"
	AttrJobSubjobDurationSum = "wafer.job.subjob_duration_s.sum"
	// AttrJobOutcome is the job's outcome derived by the outcome policy from
	// its own status and its subjobs': one of the Outcome* values or
	// OutcomeSuccessWithFailures.
	AttrJobOutcome = "wafer.job.outcome"
	// AttrJobRollupComplete is false on a job whose roll-ups lost subjobs
	// (its summary was evicted by a cap and rebuilt): its counts and outcome
	// cover only the subjobs seen since. Absent means complete.
	AttrJobRollupComplete = "wafer.job.rollup_complete"
)

// OutcomeSuccessWithFailures is the rolled-up outcome of a job that
// succeeded although some of its subjobs failed, when the outcome policy
// keeps that case apart from plain success.
const OutcomeSuccessWithFailures = "success_with_failures"

// AttrSubjobLate is true on a subjob span that arrived after its job's span
// had passed the processor.
const AttrSubjobLate = "wafer.subjob.late"

// Event kinds the jobhierarchy processor emits about a job, besides
// KindStalled, KindTimeout and KindRecovered.
const (
	// KindLateSubjobs summarises subjobs that arrived after the job's span,
	// with the job's updated roll-ups.
	KindLateSubjobs = "late_subjobs"
	// KindOrphanSubjobs reports subjobs whose job never arrived in time.
	KindOrphanSubjobs = "orphan_subjobs"
)

// Watchdog attributes, on stalled, timeout and recovered log records.
const (
	// AttrWatchdogSilenceS is how long the entity had not reported, seconds.
	AttrWatchdogSilenceS = "wafer.watchdog.silence_s"
	// AttrWatchdogRunningS is how long the entity had been open, seconds.
	AttrWatchdogRunningS = "wafer.watchdog.running_s"
	// AttrWatchdogLimitS is the stall time or maximum duration that was
	// exceeded, seconds.
	AttrWatchdogLimitS = "wafer.watchdog.limit_s"
)

// ---------------------------------------------------------------------------
// jobhierarchy processor: expected schedules. A schedule names the jobs that
// must start at known times; a slot that passes without one is missed.
// ---------------------------------------------------------------------------

// Event kinds of schedules. KindMissed is about a run that never started: its
// entity is a job whose id derives from the schedule's name and the slot
// (ids.FromName). KindLateStart is about the job that started late.
const (
	KindMissed    = "missed"
	KindLateStart = "late_start"
)

// StatusMissed is the status of a missed run.
const StatusMissed = "missed"

// Schedule attributes, on missed and late_start log records.
const (
	// AttrScheduleName is the schedule's configured name.
	AttrScheduleName = "wafer.schedule.name"
	// AttrScheduleSlot is the slot, the time the run should have started,
	// RFC 3339 in UTC.
	AttrScheduleSlot = "wafer.schedule.slot"
	// AttrScheduleGraceS is the schedule's grace, in seconds (missed).
	AttrScheduleGraceS = "wafer.schedule.grace_s"
	// AttrScheduleLateS is how long after its slot the run started, in
	// seconds (late_start).
	AttrScheduleLateS = "wafer.schedule.late_s"
)

// Schedule metrics, one series per configured schedule, with the data point
// attribute MetricAttrSchedule (the schedule's name).
const (
	// MetricScheduleMissed counts missed slots (sum, monotonic, cumulative).
	MetricScheduleMissed = "wafer.schedule.missed"
	// MetricScheduleLateStart is how long after its slot the latest run
	// started, in seconds (gauge, 0 when in time).
	MetricScheduleLateStart = "wafer.schedule.late_start"
	// MetricScheduleLastSuccess is when the last successful run ended, Unix
	// seconds (gauge).
	MetricScheduleLastSuccess = "wafer.schedule.last_success_timestamp"
	// MetricAttrSchedule is the data point attribute naming the schedule.
	MetricAttrSchedule = "schedule"
)
