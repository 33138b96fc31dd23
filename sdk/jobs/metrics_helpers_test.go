package jobs

import (
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

var runtimeGoexit = runtime.Goexit

// seriesKey names a series by entity type and status or kind, and checks
// that no series carries an entity ID.
func seriesKey(t *testing.T, set attribute.Set) string {
	t.Helper()
	if _, ok := set.Value(semconv.AttrEntityID); ok {
		t.Errorf("metric series with an entity ID: %v", set)
	}
	if v, _ := set.Value(semconv.AttrSiteID); v.AsString() != "fab1" {
		t.Errorf("series without the site: %v", set)
	}
	typ, _ := set.Value(semconv.AttrEntityType)
	if s, ok := set.Value(semconv.AttrStatus); ok {
		return typ.AsString() + "/" + s.AsString()
	}
	k, _ := set.Value(semconv.AttrEventKind)
	return typ.AsString() + "/" + k.AsString()
}

func checkSum(t *testing.T, data metricdata.Aggregation, want map[string]int64) {
	t.Helper()
	sum, ok := data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%T, want an int64 sum", data)
	}
	got := map[string]int64{}
	for _, dp := range sum.DataPoints {
		got[seriesKey(t, dp.Attributes)] += dp.Value
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func checkHistogram(t *testing.T, data metricdata.Aggregation, wantSum map[string]float64) {
	t.Helper()
	h, ok := data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%T, want a float64 histogram", data)
	}
	got := map[string]float64{}
	for _, dp := range h.DataPoints {
		got[seriesKey(t, dp.Attributes)] += dp.Sum
	}
	for k, v := range wantSum {
		if got[k] != v {
			t.Errorf("%s sum = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
