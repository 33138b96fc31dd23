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
	// AttrParentID is the parent job's UUID (subjobs only).
	AttrParentID = "wafer.entity.parent_id"
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
	// AttrMetadata is the event's free-form metadata object, as a map.
	AttrMetadata = "wafer.metadata"
)

// Event attributes, on log records.
const (
	// AttrEventKind is one of the Kind* values.
	AttrEventKind = "wafer.event.kind"
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
