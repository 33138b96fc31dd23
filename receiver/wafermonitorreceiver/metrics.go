package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Bucket boundaries: seconds for durations and CPU, MiB for memory.
var (
	secondsBounds  = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400}
	mebibyteBounds = []float64{16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}
)

type metricKind int

const (
	metricEvents metricKind = iota
	metricCompleted
	metricDuration
	metricCPUUser
	metricCPUSystem
	metricMemory
	metricKinds
)

type metricDef struct {
	name, desc, unit string
	label            string // the data point attribute besides the entity type
	key              string // the event metric a histogram is made of
	bounds           []float64
}

var metricDefs = [metricKinds]metricDef{
	metricEvents:    {name: semconv.MetricEvents, desc: "Lifecycle events received, by kind.", unit: "{event}", label: semconv.AttrEventKind},
	metricCompleted: {name: semconv.MetricEntityCompleted, desc: "Jobs and subjobs that ended, by status.", unit: "{entity}", label: semconv.AttrStatus},
	metricDuration:  {name: semconv.MetricEntityDuration, desc: "Wall-clock duration of ended jobs and subjobs.", unit: "s", label: semconv.AttrStatus, key: semconv.MetricKeyDurationS, bounds: secondsBounds},
	metricCPUUser:   {name: semconv.MetricEntityCPUUser, desc: "Process CPU user time of ended jobs and subjobs.", unit: "s", label: semconv.AttrStatus, key: semconv.MetricKeyCPUUserS, bounds: secondsBounds},
	metricCPUSystem: {name: semconv.MetricEntityCPUSystem, desc: "Process CPU system time of ended jobs and subjobs.", unit: "s", label: semconv.AttrStatus, key: semconv.MetricKeyCPUSystemS, bounds: secondsBounds},
	metricMemory:    {name: semconv.MetricEntityMemoryMax, desc: "Peak resident memory of ended jobs and subjobs.", unit: "MiBy", label: semconv.AttrStatus, key: semconv.MetricKeyMemMaxMB, bounds: mebibyteBounds},
}

type seriesKey struct {
	res        entity.Resource
	metric     metricKind
	entityType string
	label      string
}

type series struct {
	start  pcommon.Timestamp
	count  uint64 // sums: the total; histograms: the number of values
	sum    float64
	min    float64
	max    float64
	counts []uint64
}

// cumulativeMetrics keeps running totals per series and emits, for each
// request, the series it touched with their totals. Cumulative points stay
// right when batches arrive out of order or twice downstream (a backend keeps
// the newest), which per-request deltas would not. Series are few (site ×
// app × entity type × status or kind) and capped by maxSeries.
type cumulativeMetrics struct {
	mu        sync.Mutex
	series    map[seriesKey]*series
	maxSeries int
	dropped   func() // called when a new series is refused at the cap
}

func newCumulativeMetrics(maxSeries int, dropped func()) *cumulativeMetrics {
	return &cumulativeMetrics{series: map[seriesKey]*series{}, maxSeries: maxSeries, dropped: dropped}
}

// record adds the events to the totals and returns the touched series.
func (cm *cumulativeMetrics) record(c *converter, events []event, now time.Time) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(now)
	cm.mu.Lock()
	defer cm.mu.Unlock()
	touched := map[seriesKey]*series{}
	var order []seriesKey
	touch := func(k seriesKey) *series {
		if s, ok := touched[k]; ok {
			return s
		}
		s, ok := cm.series[k]
		if !ok {
			if len(cm.series) >= cm.maxSeries {
				if cm.dropped != nil {
					cm.dropped()
				}
				return nil
			}
			s = &series{start: ts}
			if b := metricDefs[k.metric].bounds; b != nil {
				s.counts = make([]uint64, len(b)+1)
			}
			cm.series[k] = s
		}
		touched[k] = s
		order = append(order, k)
		return s
	}
	for i := range events {
		e := &events[i]
		res := resourceOf(e)
		if s := touch(seriesKey{res, metricEvents, e.EntityType, e.Kind}); s != nil {
			s.count++
		}
		if !semconv.IsTerminal(e.Kind) {
			continue
		}
		if s := touch(seriesKey{res, metricCompleted, e.EntityType, e.Status}); s != nil {
			s.count++
		}
		for m := metricDuration; m < metricKinds; m++ {
			v, ok := e.metric(metricDefs[m].key)
			if !ok {
				continue
			}
			s := touch(seriesKey{res, m, e.EntityType, e.Status})
			if s == nil {
				continue
			}
			if s.count == 0 || v < s.min {
				s.min = v
			}
			if s.count == 0 || v > s.max {
				s.max = v
			}
			s.count++
			s.sum += v
			s.counts[bucketOf(metricDefs[m].bounds, v)]++
		}
	}
	return c.buildMetrics(order, touched, ts)
}

func bucketOf(bounds []float64, v float64) int {
	for i, b := range bounds {
		if v <= b {
			return i
		}
	}
	return len(bounds)
}

func (c *converter) buildMetrics(order []seriesKey, touched map[seriesKey]*series, ts pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	type slot struct {
		metrics pmetric.MetricSlice
		byKind  [metricKinds]pmetric.Metric
		has     [metricKinds]bool
	}
	resources := map[entity.Resource]*slot{}
	for _, k := range order {
		sl, ok := resources[k.res]
		if !ok {
			rm := md.ResourceMetrics().AppendEmpty()
			k.res.Fill(rm.Resource())
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(scopeName)
			sm.Scope().SetVersion(c.version)
			sl = &slot{metrics: sm.Metrics()}
			resources[k.res] = sl
		}
		def := metricDefs[k.metric]
		if !sl.has[k.metric] {
			m := sl.metrics.AppendEmpty()
			m.SetName(def.name)
			m.SetDescription(def.desc)
			m.SetUnit(def.unit)
			if def.bounds == nil {
				s := m.SetEmptySum()
				s.SetIsMonotonic(true)
				s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			} else {
				m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			}
			sl.byKind[k.metric], sl.has[k.metric] = m, true
		}
		m := sl.byKind[k.metric]
		s := touched[k]
		var attrs pcommon.Map
		if def.bounds == nil {
			dp := m.Sum().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(ts)
			dp.SetIntValue(int64(s.count)) //nolint:gosec // a count of events stays far below 2^63
			attrs = dp.Attributes()
		} else {
			dp := m.Histogram().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(ts)
			dp.SetCount(s.count)
			dp.SetSum(s.sum)
			dp.SetMin(s.min)
			dp.SetMax(s.max)
			dp.ExplicitBounds().FromRaw(def.bounds)
			dp.BucketCounts().FromRaw(s.counts)
			attrs = dp.Attributes()
		}
		attrs.PutStr(semconv.AttrEntityType, k.entityType)
		attrs.PutStr(def.label, k.label)
	}
	return md
}
