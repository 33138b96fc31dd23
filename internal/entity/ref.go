package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Ref names one job or subjob: its identity, and what the client sent where
// the receiver had to interpret it.
type Ref struct {
	Type        string // semconv.EntityTypeJob or semconv.EntityTypeSubjob
	ID          string
	ParentID    string // empty for a job and for an orphan subjob
	BusinessKey string
	SubKey      string

	// TypeOriginal is the client's own type name (WAFER, LOT) when it was
	// normalised; IDOriginal and ParentIDOriginal the ids it sent when they
	// were not UUIDs ("job-123"). Empty when the values were used as sent.
	TypeOriginal     string
	IDOriginal       string
	ParentIDOriginal string
}

// PutAttributes writes the entity's identifying attributes, the originals
// that are set, and its status. A subjob without a parent is marked as an
// orphan.
func (e Ref) PutAttributes(attrs pcommon.Map, status string) {
	attrs.PutStr(semconv.AttrEntityType, e.Type)
	attrs.PutStr(semconv.AttrEntityID, e.ID)
	if e.ParentID != "" {
		attrs.PutStr(semconv.AttrParentID, e.ParentID)
	} else if e.Type == semconv.EntityTypeSubjob {
		attrs.PutBool(semconv.AttrOrphan, true)
	}
	putText(attrs, semconv.AttrBusinessKey, e.BusinessKey)
	putText(attrs, semconv.AttrSubKey, e.SubKey)
	putText(attrs, semconv.AttrEntityTypeOriginal, e.TypeOriginal)
	putText(attrs, semconv.AttrEntityIDOriginal, e.IDOriginal)
	putText(attrs, semconv.AttrParentIDOriginal, e.ParentIDOriginal)
	attrs.PutStr(semconv.AttrStatus, status)
}

// SpanName is the entity type, then the business key and sub key when known:
// "job lot-4711", "subjob lot-4711/wafer-07".
func (e Ref) SpanName() string {
	name := e.Type
	switch {
	case e.BusinessKey != "" && e.SubKey != "":
		name += " " + e.BusinessKey + "/" + e.SubKey
	case e.BusinessKey != "":
		name += " " + e.BusinessKey
	case e.SubKey != "":
		name += " " + e.SubKey
	}
	return name
}

// IsEntity tells a job or subjob from anything else: only they have an
// entity id and one of the two types.
func (e Ref) IsEntity() bool {
	return e.ID != "" && (e.Type == semconv.EntityTypeJob || e.Type == semconv.EntityTypeSubjob)
}
