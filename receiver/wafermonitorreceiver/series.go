package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"container/list"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The receiver's cumulative metric series are bounded by count and by the
// bytes of their keys, and forgotten when idle. Far above a real fab's
// series (site × app × entity type × status or kind), low enough that a
// flood of made-up sites or statuses costs a few MiB.
const (
	maxMetricSeries      = 20000
	maxMetricSeriesBytes = 16 << 20
	// metricSeriesIdle is how long a series is kept without an update.
	metricSeriesIdle = time.Hour
)

// Why a series was removed, the reason attribute of
// receiver_wafermonitor_metric_series_evicted.
const (
	evictedIdle  = "idle"
	evictedLimit = "limit"
)

// seriesCost is what a series holds besides the strings of its key: the
// map entry, the list element, the totals and a histogram's buckets.
const seriesCost = 256

type seriesLimits struct {
	count int
	bytes int
	idle  time.Duration
}

var defaultSeriesLimits = seriesLimits{count: maxMetricSeries, bytes: maxMetricSeriesBytes, idle: metricSeriesIdle}

type series struct {
	key      seriesKey
	lastSeen time.Time
	start    pcommon.Timestamp
	count    uint64 // sums: the total; histograms: the number of values
	sum      float64
	min      float64
	max      float64
	counts   []uint64
	// pending: updated since the metrics were last collected; removed: no
	// longer in the store (a collection skips it).
	pending, removed bool
}

// seriesStore holds the series, most recently updated first. A series not
// updated for limits.idle is removed; when a new series exceeds the count
// or the bytes, the least recently updated ones make room, so that new
// sites and apps are always counted. A removed series that comes back
// starts from zero with a new start time, which is how a cumulative metric
// says it was reset. evicted counts removals by reason.
type seriesStore struct {
	limits  seriesLimits
	entries map[seriesKey]*list.Element
	order   *list.List // of *series, front = most recently updated
	bytes   int
	evicted func(reason string, n int)
}

func newSeriesStore(limits seriesLimits, evicted func(reason string, n int)) *seriesStore {
	if evicted == nil {
		evicted = func(string, int) {}
	}
	return &seriesStore{limits: limits, entries: map[seriesKey]*list.Element{}, order: list.New(), evicted: evicted}
}

// expire removes the series not updated since now - limits.idle.
func (st *seriesStore) expire(now time.Time) {
	cutoff := now.Add(-st.limits.idle)
	n := 0
	for el := st.order.Back(); el != nil && el.Value.(*series).lastSeen.Before(cutoff); el = st.order.Back() {
		st.remove(el)
		n++
	}
	if n > 0 {
		st.evicted(evictedIdle, n)
	}
}

// get returns the series of k, created when new, and marks it updated.
func (st *seriesStore) get(k seriesKey, now time.Time, newSeries func() *series) *series {
	if el, ok := st.entries[k]; ok {
		st.order.MoveToFront(el)
		s := el.Value.(*series)
		s.lastSeen = now
		return s
	}
	s := newSeries()
	s.key, s.lastSeen = k, now
	st.entries[k] = st.order.PushFront(s)
	st.bytes += k.bytes()
	n := 0
	for len(st.entries) > st.limits.count || st.bytes > st.limits.bytes {
		back := st.order.Back()
		if back.Value.(*series) == s {
			break
		}
		st.remove(back)
		n++
	}
	if n > 0 {
		st.evicted(evictedLimit, n)
	}
	return s
}

func (st *seriesStore) remove(el *list.Element) {
	s := st.order.Remove(el).(*series)
	s.removed = true
	delete(st.entries, s.key)
	st.bytes -= s.key.bytes()
}

func (st *seriesStore) len() int { return len(st.entries) }

// bytes is what a series of this key costs.
func (k seriesKey) bytes() int {
	return seriesCost + len(k.res.ServiceName) + len(k.res.ServiceVersion) + len(k.res.SiteID) +
		len(k.res.AppID) + len(k.res.AppIDOriginal) + len(k.entityType) + len(k.label)
}
