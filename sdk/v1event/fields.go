package v1event

// Field names of the canonical event: the JSON names of Event, App, Entity
// and Body (a test checks that they agree). The wafermonitor receiver reads
// events by these names; nothing else spells them.
const (
	FieldIdempotencyKey = "idempotency_key"
	FieldSiteID         = "site_id"
	FieldApp            = "app"
	FieldAppID          = "app_id"
	FieldAppName        = "name"
	FieldAppVersion     = "version"
	FieldEntity         = "entity"
	FieldEntityType     = "type"
	FieldEntityID       = "id"
	FieldParentID       = "parent_id"
	FieldBusinessKey    = "business_key"
	FieldSubKey         = "sub_key"
	FieldEvent          = "event"
	FieldKind           = "kind"
	FieldAt             = "at"
	FieldStatus         = "status"
	FieldMetrics        = "metrics"
	FieldMetadata       = "metadata"

	// FieldEvents holds the events of a batch sent as an object,
	// {"events": [...]}; a batch may also be a bare array.
	FieldEvents = "events"
	// MetadataParentJobID is where some older clients put a subjob's parent
	// id instead of entity.parent_id: event.metadata.parent_job_id.
	MetadataParentJobID = "parent_job_id"
	// MetricDurationSeconds is the older C, Java and R clients' name of the
	// duration_s metric.
	MetricDurationSeconds = "duration_seconds"
)

// The event.metadata fields the v1 contract gives a meaning: a failure's
// message and class, the subjobs a job declares, and a progress event's
// work units done of a total, fraction done and message. Any other
// metadata is the client's own.
const (
	MetadataError           = "error"
	MetadataErrorType       = "error_type"
	MetadataExpectedSubjobs = "expected_subjobs"
	MetadataDone            = "done"
	MetadataTotal           = "total"
	MetadataFraction        = "fraction"
	MetadataMessage         = "message"
)

// Flat is a field of the older clients' flat events, which carry the
// canonical event's information without nesting: its names in the order
// they are looked up, snake_case (C, R) before camelCase (Java).
type Flat []string

// The fields of the flat events. Their values follow the canonical fields'
// rules; Timestamp is FieldAt.
var (
	FlatIdempotencyKey = Flat{FieldIdempotencyKey, "idempotencyKey"}
	FlatSiteID         = Flat{FieldSiteID, "siteId"}
	FlatAppID          = Flat{FieldAppID, "appId"}
	FlatAppName        = Flat{"app_name", "appName"}
	FlatAppVersion     = Flat{"app_version", "appVersion"}
	FlatEntityType     = Flat{"entity_type", "entityType"}
	FlatEntityID       = Flat{"entity_id", "entityId"}
	FlatParentID       = Flat{FieldParentID, "parentId", MetadataParentJobID, "parentJobId"}
	FlatBusinessKey    = Flat{FieldBusinessKey, "businessKey"}
	FlatSubKey         = Flat{FieldSubKey, "subKey"}
	FlatEventKind      = Flat{"event_kind", "eventKind"}
	FlatTimestamp      = Flat{"timestamp", FieldAt}
	FlatStatus         = Flat{FieldStatus}
	FlatMetrics        = Flat{FieldMetrics}
	FlatMetadata       = Flat{FieldMetadata}
)

// FlatMarkers are the fields whose presence, without an entity or event
// object, makes an event flat.
var FlatMarkers = []Flat{FlatEntityID, FlatEntityType, FlatEventKind}

// FieldNames returns every field name of the canonical and the flat events
// and of the metadata the contract interprets.
func FieldNames() []string {
	names := []string{
		FieldIdempotencyKey, FieldSiteID, FieldApp, FieldAppID, FieldAppName, FieldAppVersion,
		FieldEntity, FieldEntityType, FieldEntityID, FieldParentID, FieldBusinessKey, FieldSubKey,
		FieldEvent, FieldKind, FieldAt, FieldStatus, FieldMetrics, FieldMetadata,
		FieldEvents, MetadataParentJobID, MetricDurationSeconds,
		MetadataError, MetadataErrorType, MetadataExpectedSubjobs, MetadataDone, MetadataTotal, MetadataFraction, MetadataMessage,
	}
	for _, f := range flatFields() {
		names = append(names, f...)
	}
	return names
}

func flatFields() []Flat {
	return []Flat{
		FlatIdempotencyKey, FlatSiteID, FlatAppID, FlatAppName, FlatAppVersion, FlatEntityType, FlatEntityID,
		FlatParentID, FlatBusinessKey, FlatSubKey, FlatEventKind, FlatTimestamp, FlatStatus, FlatMetrics, FlatMetadata,
	}
}
