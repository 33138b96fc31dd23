// Package entity writes the parts of logs and spans that every component
// producing wafermonitor data writes the same way: the resource of a site and
// application, an entity's identifying attributes and its span name. The
// names come from sdk/semconv; docs/semantic-conventions.md describes them.
package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// UnknownService is the service.name of data whose client sent no app name.
const UnknownService = "unknown_service"

// Resource identifies the site and application that data comes from. It is
// comparable, so it can key the grouping of records by resource.
type Resource struct {
	ServiceName    string `json:"svc,omitempty"`
	ServiceVersion string `json:"ver,omitempty"`
	SiteID         string `json:"site,omitempty"`
	AppID          string `json:"app,omitempty"`
	// AppIDOriginal is the app id a client sent when it was not a UUID;
	// AppID is then the UUID derived from it.
	AppIDOriginal string `json:"app_orig,omitempty"`
}

// ResourceFrom reads a Resource from resource attributes.
func ResourceFrom(res pcommon.Resource) Resource {
	attrs := res.Attributes()
	return Resource{
		ServiceName:    str(attrs, semconv.AttrServiceName),
		ServiceVersion: str(attrs, semconv.AttrServiceVersion),
		SiteID:         str(attrs, semconv.AttrSiteID),
		AppID:          str(attrs, semconv.AttrAppID),
		AppIDOriginal:  str(attrs, semconv.AttrAppIDOriginal),
	}
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// Fill writes the resource attributes; an empty service name becomes
// UnknownService, other empty values are left out.
func (r Resource) Fill(res pcommon.Resource) {
	attrs := res.Attributes()
	name := r.ServiceName
	if name == "" {
		name = UnknownService
	}
	attrs.PutStr(semconv.AttrServiceName, name)
	if r.ServiceVersion != "" {
		attrs.PutStr(semconv.AttrServiceVersion, r.ServiceVersion)
	}
	attrs.PutStr(semconv.AttrSiteID, r.SiteID)
	if r.AppID != "" {
		attrs.PutStr(semconv.AttrAppID, r.AppID)
	}
	if r.AppIDOriginal != "" {
		attrs.PutStr(semconv.AttrAppIDOriginal, r.AppIDOriginal)
	}
}

// Ref names one job or subjob.
type Ref struct {
	Type        string // semconv.EntityTypeJob or semconv.EntityTypeSubjob
	ID          string
	ParentID    string // empty for a job and for an orphan subjob
	BusinessKey string
	SubKey      string
}

// PutAttributes writes the entity's identifying attributes and its status.
// A subjob without a parent is marked as an orphan.
func (e Ref) PutAttributes(attrs pcommon.Map, status string) {
	attrs.PutStr(semconv.AttrEntityType, e.Type)
	attrs.PutStr(semconv.AttrEntityID, e.ID)
	if e.ParentID != "" {
		attrs.PutStr(semconv.AttrParentID, e.ParentID)
	} else if e.Type == semconv.EntityTypeSubjob {
		attrs.PutBool(semconv.AttrOrphan, true)
	}
	if e.BusinessKey != "" {
		attrs.PutStr(semconv.AttrBusinessKey, e.BusinessKey)
	}
	if e.SubKey != "" {
		attrs.PutStr(semconv.AttrSubKey, e.SubKey)
	}
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
