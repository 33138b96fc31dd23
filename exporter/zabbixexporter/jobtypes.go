package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// jobType is one row of low-level discovery: a job type on a host. Its
// fields are already safe as item key parameters. A legacy job type holds
// the old sidecar's keys of a host: it is not discovered, the legacy
// template has its items.
type jobType struct {
	host, site, app, job, entityType string
	legacy                           bool
}

// phase is where a job type stands in delivery. Zabbix takes the values of
// a discovered item only once discovery has created it and the server has
// loaded it into its configuration cache; before, it counts them as failed
// and does not say which.
type phase uint8

const (
	// phaseNew: seen, not announced yet (or its announcement was refused).
	// Its values wait.
	phaseNew phase = iota
	// phaseAnnounced: announced; Zabbix creates its items until readyAt.
	// Its values wait.
	phaseAnnounced
	// phaseProbing: its items should exist. Its values go in requests of
	// their own, so that a refusal names the job type, and refused values
	// are sent again.
	phaseProbing
	// phaseConfirmed: Zabbix processed a request of its values; they share
	// requests with other job types.
	phaseConfirmed
	// phaseRejected: Zabbix refused its values for longer than
	// max_refused_time. Its values are sent once and refusals are final
	// until discovery::interval has passed; then it starts again as new.
	phaseRejected
)

var phaseNames = [...]string{"new", "announced", "probing", "confirmed", "rejected"}

func (p phase) String() string { return phaseNames[p] }

type jobTypeState struct {
	phase phase
	// since is when the job type entered its phase.
	since time.Time
	// readyAt is when Zabbix can have created the items (phaseAnnounced).
	readyAt time.Time
	// refusedSince is the first refusal since the job type was last
	// confirmed; zero when there was none.
	refusedSince time.Time
	lastSeen     time.Time
	// itemsMissed: Zabbix refused the job type's values since it last took
	// them, so discovery was later than item_delay, and the triggers it
	// creates after the items may be loaded a configuration sync after
	// them.
	itemsMissed bool
	// triggersAt is when the triggers of a job type whose items were
	// missed are loaded: trigger_delay after Zabbix took its values.
	triggersAt time.Time
}

type hostState struct {
	rows          map[jobType]*jobTypeState
	lastAnnounced time.Time
}

// jobTypes is the delivery state machine of every job type seen: which
// were announced to which host, whether Zabbix takes their values, and
// since when it refuses them. All times come from the caller's clock.
type jobTypes struct {
	itemDelay    time.Duration
	triggerDelay time.Duration
	interval     time.Duration
	maxRefused   time.Duration
	maxRows      int

	mu    sync.Mutex
	hosts map[string]*hostState
	rows  int
	// rejected are the job types in phaseRejected.
	rejected map[jobType]*jobTypeState
}

func newJobTypes(cfg DiscoveryConfig) *jobTypes {
	return &jobTypes{
		itemDelay:    cfg.ItemDelay,
		triggerDelay: cfg.TriggerDelay,
		interval:     cfg.Interval,
		maxRefused:   cfg.MaxRefusedTime,
		maxRows:      cfg.MaxJobTypes,
		hosts:        map[string]*hostState{},
		rejected:     map[jobType]*jobTypeState{},
	}
}

func (j *jobTypes) enter(r jobType, s *jobTypeState, p phase, now time.Time) {
	if s.phase == phaseRejected {
		delete(j.rejected, r)
	}
	if p == phaseRejected {
		j.rejected[r] = s
	}
	s.phase, s.since = p, now
}

// advance makes the transitions that time alone decides.
func (j *jobTypes) advance(r jobType, s *jobTypeState, now time.Time) {
	switch {
	case s.phase == phaseAnnounced && !now.Before(s.readyAt):
		j.enter(r, s, phaseProbing, now)
	case s.phase == phaseRejected && now.Sub(s.since) >= j.interval:
		s.refusedSince, s.itemsMissed = time.Time{}, false
		j.enter(r, s, j.initialPhase(r), now)
	}
}

// initialPhase: legacy job types have nothing to announce.
func (*jobTypes) initialPhase(r jobType) phase {
	if r.legacy {
		return phaseProbing
	}
	return phaseNew
}

// plan records that rows were seen at now, makes the transitions their time
// has come for, forgets the least recently seen job types beyond the cap
// (never one of rows), and returns the hosts to announce (those with a new
// job type, or whose interval has passed) and the job types forgotten.
func (j *jobTypes) plan(rows map[jobType]struct{}, now time.Time) (announce []string, evicted []jobType) {
	j.mu.Lock()
	defer j.mu.Unlock()
	hosts := map[string]bool{}
	for r := range rows {
		h := j.hosts[r.host]
		if h == nil {
			h = &hostState{rows: map[jobType]*jobTypeState{}}
			j.hosts[r.host] = h
		}
		s := h.rows[r]
		if s == nil {
			s = &jobTypeState{}
			j.enter(r, s, j.initialPhase(r), now)
			h.rows[r] = s
			j.rows++
		}
		s.lastSeen = now
		j.advance(r, s, now)
		if !r.legacy && s.phase != phaseRejected && (s.phase == phaseNew || now.Sub(h.lastAnnounced) >= j.interval) {
			hosts[r.host] = true
		}
	}
	evicted = j.evict(rows)
	for h := range hosts {
		announce = append(announce, h)
	}
	sort.Strings(announce)
	return announce, evicted
}

// state returns r's state after the transitions time decides; false when r
// is not known.
func (j *jobTypes) state(r jobType, now time.Time) (jobTypeState, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.lookup(r)
	if s == nil {
		return jobTypeState{}, false
	}
	j.advance(r, s, now)
	return *s, true
}

func (j *jobTypes) lookup(r jobType) *jobTypeState {
	if h := j.hosts[r.host]; h != nil {
		return h.rows[r]
	}
	return nil
}

// announced records Zabbix's answer to the announcement of rows to host:
// processed, new job types wait item_delay for their items; refused, they
// stay new, and the refusal counts towards max_refused_time.
func (j *jobTypes) announced(host string, rows []jobType, processed bool, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.hosts[host]
	if h == nil {
		return
	}
	h.lastAnnounced = now
	for _, r := range rows {
		s := h.rows[r]
		if s == nil || s.phase != phaseNew {
			continue
		}
		if processed {
			s.readyAt = now.Add(j.itemDelay)
			j.enter(r, s, phaseAnnounced, now)
			j.advance(r, s, now)
		} else {
			j.refuse(r, s, now)
		}
	}
}

// accepted records that Zabbix processed every value of a request of r's
// values alone: its items exist. When they were missed before, its
// triggers are loaded trigger_delay later.
func (j *jobTypes) accepted(r jobType, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.lookup(r)
	if s == nil {
		return
	}
	if s.itemsMissed {
		s.itemsMissed = false
		s.triggersAt = now.Add(j.triggerDelay)
	}
	if s.phase != phaseConfirmed {
		s.refusedSince = time.Time{}
		j.enter(r, s, phaseConfirmed, now)
	}
}

// refused records that Zabbix counted values of r as failed and returns
// the phase r is in afterwards. alone: the request held r's values alone,
// so its items were missing (in a shared request, another job type's may
// have been).
func (j *jobTypes) refused(r jobType, now time.Time, alone bool) phase {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.lookup(r)
	if s == nil {
		return phaseNew
	}
	if alone {
		s.itemsMissed = true
	}
	j.refuse(r, s, now)
	return s.phase
}

// triggerValues reports whether the values that r's triggers read may be
// sent at now. Zabbix evaluates a trigger only when a value of its item
// arrives, and a trigger loaded after that value ignores it until the next
// one: a job type's only failure would never raise its problem. So when
// discovery was late (Zabbix refused r's values), those values wait until
// Zabbix took r's other values (until is zero) and then trigger_delay
// (until). Values of rejected job types do not wait: they are sent once.
func (j *jobTypes) triggerValues(r jobType, now time.Time) (ready bool, until time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.lookup(r)
	switch {
	case s == nil, s.phase == phaseRejected:
		return true, time.Time{}
	case s.itemsMissed:
		return false, time.Time{}
	case now.Before(s.triggersAt):
		return false, s.triggersAt
	}
	return true, time.Time{}
}

func (j *jobTypes) refuse(r jobType, s *jobTypeState, now time.Time) {
	if s.phase == phaseRejected {
		return
	}
	if s.refusedSince.IsZero() {
		s.refusedSince = now
	}
	switch {
	case now.Sub(s.refusedSince) >= j.maxRefused:
		j.enter(r, s, phaseRejected, now)
	case s.phase == phaseConfirmed:
		j.enter(r, s, phaseProbing, now)
	}
}

// rejection describes the job types whose values are dropped because
// Zabbix kept refusing them; nil when there are none.
func (j *jobTypes) rejection(now time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var rows []jobType
	for r, s := range j.rejected {
		j.advance(r, s, now)
		if s.phase == phaseRejected {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	sort.Slice(rows, func(i, k int) bool { return lessJobType(rows[i], rows[k]) })
	return fmt.Errorf("values of %d job types (the first: %s on host %q) refused by Zabbix for longer than discovery::max_refused_time are dropped until discovery::interval has passed", len(rows), describe(rows[0]), rows[0].host)
}

// evict forgets the least recently seen job types beyond the cap, never one
// of keep, and returns them.
func (j *jobTypes) evict(keep map[jobType]struct{}) []jobType {
	var evicted []jobType
	for j.rows > j.maxRows {
		var oldest jobType
		var oldestSeen time.Time
		found := false
		for _, h := range j.hosts {
			for r, s := range h.rows {
				if _, k := keep[r]; k {
					continue
				}
				if !found || s.lastSeen.Before(oldestSeen) {
					oldest, oldestSeen, found = r, s.lastSeen, true
				}
			}
		}
		if !found {
			return evicted
		}
		h := j.hosts[oldest.host]
		delete(h.rows, oldest)
		delete(j.rejected, oldest)
		if len(h.rows) == 0 {
			delete(j.hosts, oldest.host)
		}
		j.rows--
		evicted = append(evicted, oldest)
	}
	return evicted
}
