package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// jobType is one row of low-level discovery: a job type on a host. Its
// fields are already safe as item key parameters.
type jobType struct {
	host, site, app, job, entityType string
}

type jobTypeState struct {
	// readyAt is when Zabbix can have created the items, zero until the
	// job type was first announced successfully.
	readyAt  time.Time
	lastSeen time.Time
}

type hostState struct {
	rows          map[jobType]*jobTypeState
	lastAnnounced time.Time
}

// discovery remembers which job types were announced to which host, and
// when their items can exist.
type discovery struct {
	itemDelay time.Duration
	interval  time.Duration
	maxRows   int

	mu    sync.Mutex
	hosts map[string]*hostState
	rows  int
}

func newDiscovery(cfg DiscoveryConfig) *discovery {
	return &discovery{itemDelay: cfg.ItemDelay, interval: cfg.Interval, maxRows: cfg.MaxJobTypes, hosts: map[string]*hostState{}}
}

// plan records that rows were seen now and returns which of them can take
// values now, and the hosts that must be announced (new job types, or the
// interval passed).
func (d *discovery) plan(rows map[jobType]struct{}, now time.Time) (ready map[jobType]bool, announce []string, evicted int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ready = make(map[jobType]bool, len(rows))
	hosts := map[string]bool{}
	for r := range rows {
		h := d.hosts[r.host]
		if h == nil {
			h = &hostState{rows: map[jobType]*jobTypeState{}}
			d.hosts[r.host] = h
		}
		st := h.rows[r]
		if st == nil {
			st = &jobTypeState{}
			h.rows[r] = st
			d.rows++
		}
		st.lastSeen = now
		// Without a delay, values follow their announcement in the same request.
		ready[r] = d.itemDelay == 0 || (!st.readyAt.IsZero() && !now.Before(st.readyAt))
		if st.readyAt.IsZero() || now.Sub(h.lastAnnounced) >= d.interval {
			hosts[r.host] = true
		}
	}
	evicted = d.evict(rows)
	for h := range hosts {
		announce = append(announce, h)
	}
	sort.Strings(announce)
	return ready, announce, evicted
}

// evict forgets the least recently seen job types beyond the cap, never one
// of keep.
func (d *discovery) evict(keep map[jobType]struct{}) int {
	n := 0
	for d.rows > d.maxRows {
		var oldest jobType
		var oldestSeen time.Time
		found := false
		for _, h := range d.hosts {
			for r, st := range h.rows {
				if _, k := keep[r]; k {
					continue
				}
				if !found || st.lastSeen.Before(oldestSeen) {
					oldest, oldestSeen, found = r, st.lastSeen, true
				}
			}
		}
		if !found {
			return n
		}
		h := d.hosts[oldest.host]
		delete(h.rows, oldest)
		if len(h.rows) == 0 {
			delete(d.hosts, oldest.host)
		}
		d.rows--
		n++
	}
	return n
}

// lldRow is one entry of the discovery value.
type lldRow struct {
	Site string `json:"{#SITE}"`
	App  string `json:"{#APP}"`
	Job  string `json:"{#JOB}"`
	Type string `json:"{#TYPE}"`
}

// announcement is the discovery value for host: every job type it knows,
// so that Zabbix keeps all of their items.
func (d *discovery) announcement(host string) (string, []jobType) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[host]
	if h == nil {
		return "[]", nil
	}
	rows := make([]jobType, 0, len(h.rows))
	for r := range h.rows {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.app != b.app {
			return a.app < b.app
		}
		if a.job != b.job {
			return a.job < b.job
		}
		if a.entityType != b.entityType {
			return a.entityType < b.entityType
		}
		return a.site < b.site
	})
	out := make([]lldRow, len(rows))
	for i, r := range rows {
		out[i] = lldRow{Site: r.site, App: r.app, Job: r.job, Type: r.entityType}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b), rows
}

// announced records a successful announcement of rows to host at now.
func (d *discovery) announced(host string, rows []jobType, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[host]
	if h == nil {
		return
	}
	h.lastAnnounced = now
	for _, r := range rows {
		if st := h.rows[r]; st != nil && st.readyAt.IsZero() {
			st.readyAt = now.Add(d.itemDelay)
		}
	}
}

// readyAt is when r can take values; zero when it was never announced.
func (d *discovery) readyAt(r jobType) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := d.hosts[r.host]; h != nil {
		if st := h.rows[r]; st != nil {
			return st.readyAt
		}
	}
	return time.Time{}
}
