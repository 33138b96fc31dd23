package wafermonitorreceiver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// startedAt is a started job event of a site: one wafer.events series.
func startedAt(site string) event {
	return event{SiteID: site, EntityType: semconv.EntityTypeJob, Kind: semconv.KindStarted, Status: semconv.StatusRunning}
}

// eventsPoints returns the wafer.events points by site.
func eventsPoints(md pmetric.Metrics) map[string]pmetric.NumberDataPoint {
	out := map[string]pmetric.NumberDataPoint{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		site, _ := rm.Resource().Attributes().Get(semconv.AttrSiteID)
		ms := rm.ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			if ms.At(j).Name() == semconv.MetricEvents {
				out[site.Str()] = ms.At(j).Sum().DataPoints().At(0)
			}
		}
	}
	return out
}

type evictions map[string]int

func (e evictions) count(reason string, n int) { e[reason] += n }

// TestSeriesCountLimit: at the cap, the least recently updated series
// make room; new sites are always counted.
func TestSeriesCountLimit(t *testing.T) {
	ev := evictions{}
	cm := newCumulativeMetrics(seriesLimits{count: 2, bytes: 1 << 20, idle: time.Hour}, ev.count)
	c := &converter{}
	now := receiveTime
	cm.recordCollect(c, []event{startedAt("a")}, now)
	cm.recordCollect(c, []event{startedAt("b")}, now.Add(time.Second))
	cm.recordCollect(c, []event{startedAt("a")}, now.Add(2*time.Second)) // a is now the most recent
	md := cm.recordCollect(c, []event{startedAt("c")}, now.Add(3*time.Second))
	assert.Equal(t, int64(1), eventsPoints(md)["c"].IntValue(), "the new site is counted")
	assert.Equal(t, 2, cm.series.len())
	assert.Equal(t, evictions{evictedLimit: 1}, ev)

	// a was kept: its total goes on.
	md = cm.recordCollect(c, []event{startedAt("a")}, now.Add(4*time.Second))
	assert.Equal(t, int64(3), eventsPoints(md)["a"].IntValue())
	// b was removed: it starts again from zero, with a new start time, and
	// makes room by removing c.
	md = cm.recordCollect(c, []event{startedAt("b")}, now.Add(5*time.Second))
	p := eventsPoints(md)["b"]
	assert.Equal(t, int64(1), p.IntValue())
	assert.Equal(t, now.Add(5*time.Second), p.StartTimestamp().AsTime())
	assert.Equal(t, evictions{evictedLimit: 2}, ev)
}

// TestSeriesBytesLimit: a status of 1 MB must not keep 1 MB of series key:
// it is cut to maxValueBytes, and the series are bounded by bytes besides
// (here a small limit, to see it hold).
func TestSeriesBytesLimit(t *testing.T) {
	ev := evictions{}
	limit := 20 * (seriesCost + 2*maxValueBytes)
	cm := newCumulativeMetrics(seriesLimits{count: 1 << 20, bytes: limit, idle: time.Hour}, ev.count)
	c := &converter{}
	for i := range 60 {
		body := looseEvent(func(_, app, _, e map[string]any) {
			app["name"] = fmt.Sprintf("app-%d-%s", i, strings.Repeat("n", 1<<16))
			e["status"] = strings.Repeat("s", 1<<20)
		})
		events, prob := decodeBody(t, []byte(body), false)
		require.Nil(t, prob)
		require.LessOrEqual(t, len(events[0].Status), maxValueBytes)
		cm.recordCollect(c, events, receiveTime.Add(time.Duration(i)*time.Second))
		require.LessOrEqual(t, cm.series.bytes, limit)
	}
	t.Logf("60 apps with 64 KiB names and 1 MiB statuses: %d series of %d bytes kept (limit %d), %d evicted", cm.series.len(), cm.series.bytes, limit, ev[evictedLimit])
	assert.Positive(t, ev[evictedLimit])
	assert.Positive(t, cm.series.len())
}

// TestSeriesExpireWhenIdle: a series not updated for the idle time is
// forgotten (the clock is the receive time given to record).
func TestSeriesExpireWhenIdle(t *testing.T) {
	ev := evictions{}
	cm := newCumulativeMetrics(seriesLimits{count: 100, bytes: 1 << 20, idle: time.Hour}, ev.count)
	c := &converter{}
	cm.recordCollect(c, []event{startedAt("a")}, receiveTime)
	cm.recordCollect(c, []event{startedAt("b")}, receiveTime.Add(30*time.Minute))
	cm.recordCollect(c, []event{startedAt("b")}, receiveTime.Add(time.Hour))
	assert.Equal(t, 2, cm.series.len(), "a is an hour old, not more")
	md := cm.recordCollect(c, []event{startedAt("b")}, receiveTime.Add(time.Hour+time.Second))
	assert.Equal(t, 1, cm.series.len())
	assert.Equal(t, evictions{evictedIdle: 1}, ev)
	assert.Equal(t, int64(3), eventsPoints(md)["b"].IntValue())
	md = cm.recordCollect(c, []event{startedAt("a")}, receiveTime.Add(2*time.Hour))
	assert.Equal(t, int64(1), eventsPoints(md)["a"].IntValue(), "a starts again")
	assert.Equal(t, receiveTime.Add(2*time.Hour), eventsPoints(md)["a"].StartTimestamp().AsTime())
}

// TestSeriesEvictionTelemetry: the receiver counts removed series in its
// own telemetry, by reason.
func TestSeriesEvictionTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	tb, err := metadata.NewTelemetryBuilder(tt.NewTelemetrySettings())
	require.NoError(t, err)
	t.Cleanup(tb.Shutdown)
	cm := newJobMetrics(zap.NewNop(), tb)
	cm.series.limits.count = 1
	c := &converter{}
	cm.recordCollect(c, []event{startedAt("a")}, receiveTime)
	cm.recordCollect(c, []event{startedAt("b")}, receiveTime.Add(time.Minute))
	cm.recordCollect(c, []event{startedAt("c")}, receiveTime.Add(3*time.Hour))
	metadatatest.AssertEqualReceiverWafermonitorMetricSeriesEvicted(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", evictedLimit))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", evictedIdle))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestMetricLabelsBounded: an unknown kind is counted under "other", never
// under the client's string.
func TestMetricLabelsBounded(t *testing.T) {
	cm := newCumulativeMetrics(defaultSeriesLimits, nil)
	var events []event
	for i := range 50 {
		events = append(events, mustDecode(t, looseEvent(func(_, _, _, e map[string]any) { e["kind"] = fmt.Sprintf("kind-%d", i) })))
	}
	md := cm.recordCollect(&converter{}, events, receiveTime)
	p := eventsPoints(md)["fab1"]
	kind, _ := p.Attributes().Get(semconv.AttrEventKind)
	assert.Equal(t, semconv.KindOther, kind.Str())
	assert.Equal(t, int64(50), p.IntValue())
	assert.Equal(t, 1, cm.series.len())
}

func mustDecode(t *testing.T, body string) event {
	t.Helper()
	events, prob := decodeBody(t, []byte(body), false)
	require.Nil(t, prob)
	require.Len(t, events, 1)
	return events[0]
}
