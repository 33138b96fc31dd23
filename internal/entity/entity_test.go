package entity

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func TestResourceRoundTrip(t *testing.T) {
	res := pcommon.NewResource()
	r := Resource{ServiceName: "litho", ServiceVersion: "1.2", SiteID: "fab1", AppID: "a", AppIDOriginal: "my-app"}
	r.Fill(res)
	assert.Equal(t, r, ResourceFrom(res))

	empty := pcommon.NewResource()
	Resource{SiteID: "fab2"}.Fill(empty)
	assert.Equal(t, map[string]any{semconv.AttrServiceName: UnknownService, semconv.AttrSiteID: "fab2"}, empty.Attributes().AsRaw())
}

func TestRef(t *testing.T) {
	attrs := pcommon.NewMap()
	Ref{Type: semconv.EntityTypeSubjob, ID: "s", SubKey: "wafer-7"}.PutAttributes(attrs, semconv.StatusRunning)
	assert.Equal(t, map[string]any{
		semconv.AttrEntityType: "subjob", semconv.AttrEntityID: "s", semconv.AttrOrphan: true,
		semconv.AttrSubKey: "wafer-7", semconv.AttrStatus: "running",
	}, attrs.AsRaw())

	tests := map[string]Ref{
		"job":                     {Type: "job"},
		"job lot-4711":            {Type: "job", BusinessKey: "lot-4711"},
		"subjob lot-4711/wafer-7": {Type: "subjob", BusinessKey: "lot-4711", SubKey: "wafer-7"},
		"subjob wafer-7":          {Type: "subjob", SubKey: "wafer-7"},
	}
	for want, ref := range tests {
		assert.Equal(t, want, ref.SpanName())
	}
}
