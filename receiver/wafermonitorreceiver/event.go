package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"time"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// event is one v1 event after decoding and normalisation: every client
// variant (canonical, flat snake_case, flat camelCase) ends up in this form.
// The *Original fields keep what a client sent where the receiver had to
// interpret it (empty when the value was used as sent); every string is
// bounded (see bound).
type event struct {
	IdempotencyKey     string
	SiteID             string
	AppID              string // a UUID in canonical form, or empty
	AppIDOriginal      string
	AppName            string
	AppVersion         string
	EntityType         string // semconv.EntityTypeJob or semconv.EntityTypeSubjob
	EntityTypeOriginal string // the client's own name, when it differs
	EntityID           uuid.UUID
	EntityIDOriginal   string
	ParentID           uuid.UUID
	HasParent          bool
	ParentIDOriginal   string
	BusinessKey        string
	SubKey             string
	Kind               string // one of the six v1 kinds or semconv.KindOther
	KindOriginal       string // the client's kind when it is KindOther
	At                 time.Time
	AtOriginal         string    // the client's time when At is the receive time instead
	Start              time.Time // a span's start: At minus duration_s, bounded (spanStart)
	Status             string
	Metrics            []metricValue // sorted by name
	// MetricsUnparsed holds the metrics whose values are not numbers (a
	// map), or the metrics field itself when it was not an object.
	MetricsUnparsed any
	Metadata        map[string]any
	// MetadataOther is metadata that is not an object (a list, a string, a
	// number), kept as sent.
	MetadataOther any

	// entityIDText and parentIDText are EntityID and ParentID in canonical
	// text, the client's own string when it was already (see idText).
	entityIDText, parentIDText string
	// ids are the trace and span IDs, derived once (see traceIDs).
	ids    ids.Entity
	hasIDs bool
}

type metricValue struct {
	Name  string
	Value float64
}

// idText is the entity id in canonical text.
func (e *event) idText() string {
	if e.entityIDText == "" {
		e.entityIDText = e.EntityID.String()
	}
	return e.entityIDText
}

// parentText is the parent id in canonical text.
func (e *event) parentText() string {
	if e.parentIDText == "" {
		e.parentIDText = e.ParentID.String()
	}
	return e.parentIDText
}

// traceIDs are the entity's trace, span and parent span IDs: the log
// record and the span of an event share them.
func (e *event) traceIDs() ids.Entity {
	if !e.hasIDs {
		if e.EntityType == semconv.EntityTypeJob {
			e.ids = ids.ForJob(ids.UUID(e.EntityID))
		} else {
			e.ids = ids.ForSubjob(ids.UUID(e.EntityID), ids.UUID(e.ParentID), e.HasParent)
		}
		e.hasIDs = true
	}
	return e.ids
}

// metric returns the value of the named metric.
func (e *event) metric(name string) (float64, bool) {
	for _, m := range e.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}
