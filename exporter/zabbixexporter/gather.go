package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"sort"
	"strconv"
	"sync"
	"time"
)

// gather collects the values of job types that Zabbix has not confirmed
// yet, from every batch that carries them, so that they go to Zabbix
// together and oldest first once it can take them: Zabbix evaluates a
// trigger at the time of each arriving value, so a value that overtook an
// older one would be undone by it. The batches themselves stay in the
// sending queue (and are retried) until their values are settled, so
// nothing is lost when the collector stops.
//
// It also remembers for a while which values were settled (processed, or
// given up), so that the other batches that carried them skip them when
// they come back. Values and marks together are capped; values beyond the
// cap are sent by their own batch, and marks beyond it forgotten early (a
// batch retried later sends its values again: Zabbix keeps one value per
// item, clock and ns).
type gather struct {
	max int
	ttl time.Duration

	mu      sync.Mutex
	rows    map[jobType]*gathered
	held    int
	settled map[string]settlement
	marks   []mark // settled fingerprints, oldest first
}

type gathered struct {
	values   []heldValue
	fps      map[string]struct{}
	marks    int
	inFlight bool
	// newestSettled is the time of the newest value settled: a value of
	// the job type after it cannot have been settled.
	newestSettled time.Time
}

type heldValue struct {
	value
	fp string
}

type settlement struct {
	processed bool
	at        time.Time
}

type mark struct {
	fp string
	r  jobType
	at time.Time
}

func newGather(maxValues int, ttl time.Duration) *gather {
	return &gather{max: maxValues, ttl: ttl, rows: map[jobType]*gathered{}, settled: map[string]settlement{}}
}

// fingerprint identifies a value across batches and retries: the same
// event gives the same fingerprint, two events of one item at one time
// (two subjobs ending together) different ones (but for a 64-bit hash
// collision).
func fingerprint(v value) string {
	return v.host + "\x00" + v.key + "\x00" + strconv.FormatInt(v.at.UnixNano(), 10) + "\x00" + strconv.FormatUint(v.id, 16)
}

// state reports whether r has values held (to be sent with r's next
// values), and until when its values may have been settled recently (not
// to be sent again); zero when none were.
func (g *gather) state(r jobType) (held bool, settledUntil time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.rows[r]
	if gr == nil {
		return false, time.Time{}
	}
	if gr.marks > 0 {
		settledUntil = gr.newestSettled
	}
	return len(gr.fps) > 0 || gr.inFlight, settledUntil
}

// settledAs reports whether the value with fingerprint fp was settled, and
// whether it was processed.
func (g *gather) settledAs(fp string) (settled, processed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.settled[fp]
	return ok, s.processed
}

// hold adds the values of r that are neither held nor settled. It returns
// how many it added, the values it had no room for, and records in settled
// those settled already (fingerprint: processed).
func (g *gather) hold(r jobType, values []heldValue, settled map[string]bool) (added int, overflow []heldValue) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.rows[r]
	for _, v := range values {
		if s, done := g.settled[v.fp]; done {
			settled[v.fp] = s.processed
			continue
		}
		if gr != nil {
			if _, dup := gr.fps[v.fp]; dup {
				continue
			}
		}
		if g.held+len(g.settled) >= g.max {
			overflow = append(overflow, v)
			continue
		}
		if gr == nil {
			gr = &gathered{fps: map[string]struct{}{}}
			g.rows[r] = gr
		}
		gr.fps[v.fp] = struct{}{}
		gr.values = append(gr.values, v)
		g.held++
		added++
	}
	return added, overflow
}

// take hands out r's held values, oldest first, for one sender at a time;
// false while another sender has them. The values stay counted until
// settle or release.
func (g *gather) take(r jobType) ([]heldValue, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.rows[r]
	if gr == nil {
		return nil, true
	}
	if gr.inFlight {
		return nil, false
	}
	gr.inFlight = true
	out := gr.values
	gr.values = nil
	sort.SliceStable(out, func(i, k int) bool { return out[i].at.Before(out[k].at) })
	return out, true
}

// finish ends a send of r's values: processed ones and those given up are
// settled, the others (again) are held to be sent later. It returns how
// many settled marks the cap made it forget early.
func (g *gather) finish(r jobType, processed, givenUp, again []heldValue, now time.Time) (evicted int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.rows[r]
	if gr == nil {
		gr = &gathered{fps: map[string]struct{}{}}
		g.rows[r] = gr
	}
	g.settle(r, gr, processed, true, now)
	g.settle(r, gr, givenUp, false, now)
	for _, v := range again {
		if _, ok := gr.fps[v.fp]; !ok {
			continue // sent beside the held values, never held: its batch sends it again
		}
		gr.values = append(gr.values, v)
	}
	gr.inFlight = false
	for g.held+len(g.settled) > g.max && len(g.marks) > 0 {
		g.dropOldestMark()
		evicted++
	}
	g.dropIfEmpty(r, gr)
	return evicted
}

func (g *gather) settle(r jobType, gr *gathered, values []heldValue, processed bool, now time.Time) {
	for _, v := range values {
		if _, ok := gr.fps[v.fp]; ok {
			delete(gr.fps, v.fp)
			g.held--
		}
		if _, ok := g.settled[v.fp]; ok {
			continue
		}
		g.settled[v.fp] = settlement{processed: processed, at: now}
		g.marks = append(g.marks, mark{fp: v.fp, r: r, at: now})
		gr.marks++
		if v.at.After(gr.newestSettled) {
			gr.newestSettled = v.at
		}
	}
}

// expire forgets the marks older than the ttl, and the job types left
// with nothing.
func (g *gather) expire(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.marks) > 0 && now.Sub(g.marks[0].at) >= g.ttl {
		g.dropOldestMark()
	}
}

func (g *gather) dropOldestMark() {
	m := g.marks[0]
	g.marks = g.marks[1:]
	if s, ok := g.settled[m.fp]; ok && s.at.Equal(m.at) {
		delete(g.settled, m.fp)
	}
	if gr := g.rows[m.r]; gr != nil {
		gr.marks--
		g.dropIfEmpty(m.r, gr)
	}
}

func (g *gather) dropIfEmpty(r jobType, gr *gathered) {
	if gr.marks <= 0 && len(gr.fps) == 0 && !gr.inFlight {
		delete(g.rows, r)
	}
}

// forget drops the held values of a job type that is no longer tracked:
// the batches that carry them bring them back.
func (g *gather) forget(r jobType) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.rows[r]
	if gr == nil || gr.inFlight {
		return
	}
	g.held -= len(gr.fps)
	gr.fps = map[string]struct{}{}
	gr.values = nil
	g.dropIfEmpty(r, gr)
}
