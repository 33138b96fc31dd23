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
	v := Of(res.Attributes())
	return Resource{
		ServiceName:    v.text(semconv.AttrServiceName),
		ServiceVersion: v.text(semconv.AttrServiceVersion),
		SiteID:         v.text(semconv.AttrSiteID),
		AppID:          v.text(semconv.AttrAppID),
		AppIDOriginal:  v.text(semconv.AttrAppIDOriginal),
	}
}

// Fill writes the resource attributes; an empty service name becomes
// UnknownService, other empty values are left out.
func (r Resource) Fill(res pcommon.Resource) {
	attrs := res.Attributes()
	attrs.EnsureCapacity(attrs.Len() + 5)
	name := r.ServiceName
	if name == "" {
		name = UnknownService
	}
	attrs.PutStr(semconv.AttrServiceName, name)
	putText(attrs, semconv.AttrServiceVersion, r.ServiceVersion)
	attrs.PutStr(semconv.AttrSiteID, r.SiteID)
	putText(attrs, semconv.AttrAppID, r.AppID)
	putText(attrs, semconv.AttrAppIDOriginal, r.AppIDOriginal)
}

// putText writes a string attribute unless it is empty.
func putText(attrs pcommon.Map, key, s string) {
	if s != "" {
		attrs.PutStr(key, s)
	}
}
