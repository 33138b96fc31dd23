package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"container/heap"
	"math"
	"time"
)

// The periodic check looks only at the entries that can be due: a table
// files each entry in a bucket of dueWidth by the earliest time it can next
// fall due (stalled, overdue, orphaned, done with), and a check takes the
// buckets whose time has come. The filing may be early, never late: a
// change that moves an entry's time later (a report moves LastSeen on)
// leaves it where it is, and a check that finds it not due files it again
// at its real time; a change that can move it earlier files it at once
// (the table's changes do, whatever they are, at a constant cost). A
// timer library does not fit: entries move at every report, under h.mu,
// and a check takes them in the tables' order.

// dueWidth is the span of one bucket, in nanoseconds.
const dueWidth = int64(time.Second)

const (
	// notDue is the time of an entry that cannot fall due as it is.
	notDue = math.MaxInt64
	// dueAlways is the time of an entry whose times are out of the range
	// the index computes with: every check looks at it.
	dueAlways = math.MinInt64
	// dueTimeLimit bounds the stored times (Unix nanoseconds, year 2116)
	// and time not counted the index computes with exactly.
	dueTimeLimit = int64(1) << 62
)

// dueLinks place a row in the due index: its bucket (notDue when it is in
// none) and its neighbours there.
type dueLinks[V any] struct {
	bucket     int64
	prev, next *row[V]
}

// dueIndex is the buckets of a table's entries by the time they can next
// fall due.
type dueIndex[V any] struct {
	// at is when an entry can next fall due, Unix nanoseconds; notDue for
	// never, as it is.
	at    func(key string, v V) int64
	heads map[int64]*row[V]
	// keys holds every bucket's key at least once (a bucket emptied and
	// made again may be there twice; an empty one's key is skipped).
	keys bucketKeys
}

func newDueIndex[V any](at func(key string, v V) int64) *dueIndex[V] {
	return &dueIndex[V]{at: at, heads: map[int64]*row[V]{}}
}

// bucketOfTime is the bucket of a time, rounded down.
func bucketOfTime(at int64) int64 {
	if at == dueAlways {
		return math.MinInt64
	}
	k := at / dueWidth
	if at%dueWidth < 0 {
		k--
	}
	return k
}

// file places the row by its entry's time, unless it is in a bucket no
// later already.
func (d *dueIndex[V]) file(r *row[V]) {
	at := d.at(r.key, r.val)
	if at == notDue {
		return
	}
	k := bucketOfTime(at)
	if k >= r.due.bucket {
		return
	}
	d.unfile(r)
	head, ok := d.heads[k]
	if !ok {
		heap.Push(&d.keys, k)
	}
	r.due = dueLinks[V]{bucket: k, next: head}
	if head != nil {
		head.due.prev = r
	}
	d.heads[k] = r
}

// unfile takes the row out of its bucket.
func (d *dueIndex[V]) unfile(r *row[V]) {
	l := &r.due
	if l.bucket == notDue {
		return
	}
	if l.prev != nil {
		l.prev.due.next = l.next
	} else if l.next != nil {
		d.heads[l.bucket] = l.next
	} else {
		delete(d.heads, l.bucket)
	}
	if l.next != nil {
		l.next.due.prev = l.prev
	}
	*l = dueLinks[V]{bucket: notDue}
	if len(d.keys) > 2*len(d.heads)+1024 {
		d.compact()
	}
}

// take appends the rows of every bucket up to now's to out and takes them
// out of the index.
func (d *dueIndex[V]) take(now int64, out []*row[V]) []*row[V] {
	k := bucketOfTime(now)
	for len(d.keys) > 0 && d.keys[0] <= k {
		key := heap.Pop(&d.keys).(int64)
		for r := d.heads[key]; r != nil; {
			next := r.due.next
			r.due = dueLinks[V]{bucket: notDue}
			out = append(out, r)
			r = next
		}
		delete(d.heads, key)
	}
	return out
}

// compact drops the keys of emptied buckets, so that entries moving
// earlier again and again do not grow the keys.
func (d *dueIndex[V]) compact() {
	d.keys = d.keys[:0]
	for k := range d.heads {
		d.keys = append(d.keys, k)
	}
	heap.Init(&d.keys)
}

// bucketKeys is a min-heap of bucket keys.
type bucketKeys []int64

func (k bucketKeys) Len() int           { return len(k) }
func (k bucketKeys) Less(i, j int) bool { return k[i] < k[j] }
func (k bucketKeys) Swap(i, j int)      { k[i], k[j] = k[j], k[i] }
func (k *bucketKeys) Push(x any)        { *k = append(*k, x.(int64)) }
func (k *bucketKeys) Pop() any {
	old := *k
	x := old[len(old)-1]
	*k = old[:len(old)-1]
	return x
}

// addTime is t+d, notDue past the largest time.
func addTime(t int64, d time.Duration) int64 {
	if d > 0 && t > math.MaxInt64-int64(d) {
		return notDue
	}
	return t + int64(d)
}

// dueTimesInRange reports whether the index computes exactly with times.
func dueTimesInRange(times ...int64) bool {
	for _, t := range times {
		if t < 0 || t >= dueTimeLimit {
			return false
		}
	}
	return true
}

// indexDue files the tables' entries by when they can fall due: an entity
// when it stalls or goes past its maximum duration, a summary when its
// subjobs become orphans or it is done with (sweep.go). A summary cannot be
// done with while its job is open: it is filed again when the job leaves
// the open entities.
func (h *hierarchy) indexDue() {
	h.entities.due = newDueIndex(func(_ string, e *openEntity) int64 { return h.entityDue(e) })
	h.jobs.due = newDueIndex(h.summaryDue)
	h.entities.onRemove = h.jobs.refileKey
}

// entityDue is when an entity can next stall or go past its maximum
// duration (pastMax).
func (h *hierarchy) entityDue(e *openEntity) int64 {
	if !h.cfg.Watchdog.Enabled {
		return notDue
	}
	if !dueTimesInRange(e.Opened, e.LastSeen, e.Down) {
		return dueAlways
	}
	stall, maxDur := h.limits(e)
	at := int64(notDue)
	if maxDur > 0 {
		at = addTime(e.Opened+e.Down, maxDur)
	}
	if stall > 0 && !e.Stalled {
		at = min(at, addTime(e.LastSeen, stall))
	}
	return at
}

// summaryDue is when a job summary's subjobs can next be reported as
// orphans or the summary be done with (summaryDone).
func (h *hierarchy) summaryDue(id string, s *jobSummary) int64 {
	if !dueTimesInRange(s.Updated, s.PassedAt) {
		return dueAlways
	}
	switch {
	case s.Passed:
		return addTime(s.PassedAt, h.cfg.LateWindow)
	case h.jobOpen(id):
		return notDue
	case s.Total == 0 || !s.OrphanReported:
		return addTime(s.Updated, h.cfg.OrphanTimeout)
	default:
		return addTime(addTime(s.Updated, h.cfg.OrphanTimeout), h.cfg.LateWindow)
	}
}
