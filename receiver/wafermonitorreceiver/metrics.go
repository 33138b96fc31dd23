package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
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

// cumulativeMetrics keeps running totals per series, and hands the series
// updated since the last time to the pipeline once per interval
// (metrics_interval, see metricsEmitter) rather than once per request.
// Cumulative points stay right when they arrive out of order or twice
// downstream (a backend keeps the newest), which per-request deltas would
// not, and a collection the pipeline refused is simply sent again, with the
// newer totals, at the next interval. Every attribute of a series is
// bounded: site, app and status by length (bound), the entity type and the
// kind by their value sets (an unknown kind is semconv.KindOther); the
// series themselves by seriesStore.
type cumulativeMetrics struct {
	mu     sync.Mutex
	series *seriesStore
	// pending are the series updated since the last collection, in the
	// order of their first update.
	pending []*series
}

func newCumulativeMetrics(limits seriesLimits, evicted func(reason string, n int)) *cumulativeMetrics {
	return &cumulativeMetrics{series: newSeriesStore(limits, evicted)}
}

// newJobMetrics is the receiver's cumulativeMetrics: removed series are
// counted in its telemetry, and the first removal to make room is logged.
func newJobMetrics(logger *zap.Logger, tb *metadata.TelemetryBuilder) *cumulativeMetrics {
	var warnOnce sync.Once
	return newCumulativeMetrics(defaultSeriesLimits, func(reason string, n int) {
		tb.ReceiverWafermonitorMetricSeriesEvicted.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("reason", reason)))
		if reason == evictedLimit {
			warnOnce.Do(func() {
				logger.Warn("Metric series limit reached: the least recently updated site/app/type/status series are removed to count new ones (they start again from zero when they come back)",
					zap.Int("max_series", defaultSeriesLimits.count), zap.Int("max_bytes", defaultSeriesLimits.bytes))
			})
		}
	})
}

// record adds accepted events to the totals.
func (cm *cumulativeMetrics) record(events []event, now time.Time) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	cm.series.expire(now)
	ts := pcommon.NewTimestampFromTime(now)
	// The events of a request mostly update the same few series: those
	// touched are looked up here first (comparing keys costs less than
	// hashing them), up to a few, then in the store.
	var recent [8]*series
	nRecent := 0
	touch := func(k seriesKey) *series {
		for _, s := range recent[:nRecent] {
			if s.key == k {
				return s
			}
		}
		s := cm.series.get(k, now, func() *series {
			s := &series{start: ts}
			if b := metricDefs[k.metric].bounds; b != nil {
				s.counts = make([]uint64, len(b)+1)
			}
			return s
		})
		if !s.pending {
			s.pending = true
			cm.pending = append(cm.pending, s)
		}
		if nRecent < len(recent) {
			recent[nRecent] = s
			nRecent++
		}
		return s
	}
	for i := range events {
		e := &events[i]
		res := resourceOf(e)
		touch(seriesKey{res, metricEvents, e.EntityType, e.Kind}).count++
		if !semconv.IsTerminal(e.Kind) {
			continue
		}
		touch(seriesKey{res, metricCompleted, e.EntityType, e.Status}).count++
		for m := metricDuration; m < metricKinds; m++ {
			v, ok := e.metric(metricDefs[m].key)
			if !ok {
				continue
			}
			s := touch(seriesKey{res, m, e.EntityType, e.Status})
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
}

// collect returns the series updated since the last collection, with
// their totals at now, and forgets the series idle for too long. The
// caller hands the returned series to requeue when the pipeline refuses
// the metrics, so that the next collection sends them again.
func (cm *cumulativeMetrics) collect(c *converter, now time.Time) (pmetric.Metrics, []*series) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	cm.series.expire(now)
	collected := cm.pending
	cm.pending = nil
	live := collected[:0]
	for _, s := range collected {
		s.pending = false
		if !s.removed {
			live = append(live, s)
		}
	}
	return c.buildMetrics(live, pcommon.NewTimestampFromTime(now)), live
}

// requeue marks series again as updated, after the pipeline refused them.
func (cm *cumulativeMetrics) requeue(collected []*series) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	for _, s := range collected {
		if !s.pending && !s.removed {
			s.pending = true
			cm.pending = append(cm.pending, s)
		}
	}
}

func bucketOf(bounds []float64, v float64) int {
	for i, b := range bounds {
		if v <= b {
			return i
		}
	}
	return len(bounds)
}

func (c *converter) buildMetrics(collected []*series, ts pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	type slot struct {
		metrics pmetric.MetricSlice
		byKind  [metricKinds]pmetric.Metric
		has     [metricKinds]bool
	}
	resources := map[entity.Resource]*slot{}
	for _, s := range collected {
		k := s.key
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
