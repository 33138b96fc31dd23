package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"math"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// maxSeries bounds the remembered cumulative series; beyond it the memory is
// cleared, and the next point of each series counts from the series' start.
const maxSeries = 20000

// seriesKey identifies one cumulative series.
type seriesKey struct {
	metric, resource, point string
}

type seriesState struct {
	start        pcommon.Timestamp
	count, sum   float64
	lastObserved pcommon.Timestamp
}

// metricDeltas turns the wafer.* metrics into per-interval values: counts
// become the number of events since the previous point, histograms the mean
// of the interval. Cumulative series are remembered; a point older than the
// last one seen (a replay) adds nothing.
type metricDeltas struct {
	series map[seriesKey]seriesState
}

func newMetricDeltas() *metricDeltas { return &metricDeltas{series: map[seriesKey]seriesState{}} }

type metricAgg struct {
	row        jobType
	item       string
	sum, count float64
	mean       bool
	at         time.Time
}

// fromMetrics computes the values of md against a copy of the remembered
// series; commit stores the copy once the values were delivered, and
// returns how many series it forgot because of the cap.
func (c *converter) fromMetrics(md pmetric.Metrics, state *metricDeltas) (values []value, commit func() (forgotten int)) {
	next := make(map[seriesKey]seriesState, len(state.series))
	for k, v := range state.series {
		next[k] = v
	}
	aggs := map[[2]string]*metricAgg{}
	var order [][2]string
	add := func(row jobType, item string, sum, count float64, mean bool, at time.Time) {
		k := [2]string{itemKey(item, &row) + "\x00" + row.host, ""}
		a := aggs[k]
		if a == nil {
			a = &metricAgg{row: row, item: item, mean: mean}
			aggs[k] = a
			order = append(order, k)
		}
		a.sum += sum
		a.count += count
		if at.After(a.at) {
			a.at = at
		}
	}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		res := rm.Resource().Attributes()
		resKey := attrsKey(res)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Name() {
				case semconv.MetricEvents, semconv.MetricEntityCompleted:
					if m.Type() != pmetric.MetricTypeSum {
						continue
					}
					cumulative := m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
					dps := m.Sum().DataPoints()
					for p := 0; p < dps.Len(); p++ {
						dp := dps.At(p)
						attrs := dp.Attributes()
						if entity.Of(attrs).Type() == "" {
							continue
						}
						v := dp.DoubleValue()
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							v = float64(dp.IntValue())
						}
						d, ok := delta(next, seriesKey{m.Name(), resKey, attrsKey(attrs)}, cumulative, dp.StartTimestamp(), dp.Timestamp(), v, 0)
						if !ok {
							continue
						}
						row := c.rowOf(attrs, res, c.metricsJob)
						at := dp.Timestamp().AsTime()
						if m.Name() == semconv.MetricEvents {
							add(row, itemEvents, d.count, 0, false, at)
							switch entity.Of(attrs).Kind() {
							case semconv.KindStalled:
								add(row, itemStalls, d.count, 0, false, at)
							case semconv.KindTimeout:
								add(row, itemTimeouts, d.count, 0, false, at)
							}
						} else {
							add(row, itemCompleted, d.count, 0, false, at)
							if semconv.OutcomeOf(entity.Of(attrs).Status()) == semconv.OutcomeFailure {
								add(row, itemFailures, d.count, 0, false, at)
							}
						}
					}
				case semconv.MetricEntityDuration, semconv.MetricEntityCPUUser, semconv.MetricEntityCPUSystem, semconv.MetricEntityMemoryMax:
					if m.Type() != pmetric.MetricTypeHistogram {
						continue
					}
					item := map[string]string{
						semconv.MetricEntityDuration:  itemDuration,
						semconv.MetricEntityCPUUser:   itemCPUUser,
						semconv.MetricEntityCPUSystem: itemCPUSystem,
						semconv.MetricEntityMemoryMax: itemMemoryMax,
					}[m.Name()]
					cumulative := m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
					dps := m.Histogram().DataPoints()
					for p := 0; p < dps.Len(); p++ {
						dp := dps.At(p)
						attrs := dp.Attributes()
						if entity.Of(attrs).Type() == "" || !dp.HasSum() {
							continue
						}
						d, ok := delta(next, seriesKey{m.Name(), resKey, attrsKey(attrs)}, cumulative, dp.StartTimestamp(), dp.Timestamp(), float64(dp.Count()), dp.Sum())
						if !ok || d.count <= 0 {
							continue
						}
						add(c.rowOf(attrs, res, c.metricsJob), item, d.sum, d.count, true, dp.Timestamp().AsTime())
					}
				}
			}
		}
	}
	for _, k := range order {
		a := aggs[k]
		row := a.row
		v := a.sum
		if a.mean {
			v = a.sum / a.count
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue // Zabbix has no NaN or infinity: the item would turn unsupported
		}
		text := formatFloat(v)
		values = append(values, value{host: row.host, key: itemKey(a.item, &row), text: text, at: a.at, row: &row, id: eventHash("metrics", text)})
	}
	sort.SliceStable(values, func(i, j int) bool { return values[i].key < values[j].key })
	commit = func() int {
		forgotten := 0
		if len(next) > maxSeries {
			forgotten = len(next)
			next = map[seriesKey]seriesState{}
		}
		state.series = next
		return forgotten
	}
	return values, commit
}

type deltaValue struct{ count, sum float64 }

// delta is the change of a series since its previous point; false when
// the point adds nothing new (a replay or an older point).
func delta(series map[seriesKey]seriesState, key seriesKey, cumulative bool, start, ts pcommon.Timestamp, count, sum float64) (deltaValue, bool) {
	if !cumulative {
		return deltaValue{count, sum}, count != 0 || sum != 0
	}
	prev, seen := series[key]
	if seen && prev.start == start {
		if ts <= prev.lastObserved || count < prev.count {
			return deltaValue{}, false
		}
		series[key] = seriesState{start: start, count: count, sum: sum, lastObserved: ts}
		return deltaValue{count - prev.count, sum - prev.sum}, true
	}
	if seen && start < prev.start {
		// A point of an earlier run of the series, replayed.
		return deltaValue{}, false
	}
	series[key] = seriesState{start: start, count: count, sum: sum, lastObserved: ts}
	return deltaValue{count, sum}, true
}

func attrsKey(m pcommon.Map) string {
	parts := make([]string, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		parts = append(parts, k+"="+v.AsString())
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, "\x00")
}
