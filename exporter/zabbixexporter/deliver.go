package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
)

// delivery is what became of the units (the values of one record, span or
// metrics batch) of one attempt.
type delivery struct {
	// pending are the units to send again: their job types wait for items,
	// Zabbix refused some of their values, or a request could not be
	// delivered (err).
	pending []int
	// wait is how long the pending units wait for items to be created.
	wait time.Duration
	// rejected are the units with values given up after Zabbix refused
	// them for longer than max_refused_time.
	rejected int
	// err stopped the attempt: Zabbix could not be reached, or refused a
	// request as a whole.
	err error
}

// attempt is the bookkeeping of one delivery attempt.
type attempt struct {
	now   time.Time
	units [][]value
	// shared are the values of confirmed job types, sent in shared
	// requests; sharedUnit[i] is the unit of shared[i].
	shared     []value
	sharedUnit []int
	// gathered are the values of the other job types, by job type.
	gathered map[jobType][]heldValue
	// unitFPs are the fingerprints of each unit's gathered values, and
	// settled those of this attempt's values that are settled: processed
	// (true), or given up.
	unitFPs [][]string
	settled map[string]bool
	pending []bool
	// wait is how long values held for their triggers wait.
	wait time.Duration
}

// deliver makes one attempt at the units: it announces new job types to
// their hosts; sends the values of confirmed job types in shared requests;
// and gathers the values of the others, sending each job type whose items
// should exist in requests of its own. It never waits for items: units
// that must wait are pending, for the exporter helper's retry.
func (e *zabbixExporter) deliver(ctx context.Context, units [][]value) delivery {
	a := &attempt{now: e.now(), units: units, gathered: map[jobType][]heldValue{},
		unitFPs: make([][]string, len(units)), settled: map[string]bool{}, pending: make([]bool, len(units))}
	rows := map[jobType]struct{}{}
	for _, u := range units {
		for _, v := range u {
			rows[*v.row] = struct{}{}
		}
	}
	announce, evicted := e.jobs.plan(rows, a.now)
	for _, r := range evicted {
		e.gather.forget(r)
	}
	if len(evicted) > 0 {
		e.telemetry.ExporterZabbixJobTypesEvicted.Add(ctx, int64(len(evicted)))
	}
	e.gather.expire(a.now)

	var d delivery
	if d.err = e.announce(ctx, announce, a.now); d.err != nil {
		for i := range units {
			d.pending = append(d.pending, i)
		}
		return d
	}
	e.sortValues(a, rows)
	flush, extra, wait := e.hold(ctx, a)
	d.err = e.sendShared(ctx, a)
	for _, r := range flush {
		if d.err != nil {
			break
		}
		d.err = e.flush(ctx, a, r, extra[r])
	}
	d.wait = max(wait, a.wait)
	d.pending, d.rejected = a.outcome()
	return d
}

// sortValues puts the values of confirmed job types with nothing held
// (and whose triggers are loaded) in the shared requests, skipping those
// sent already from another batch, and the others among the gathered
// values.
func (e *zabbixExporter) sortValues(a *attempt, rows map[jobType]struct{}) {
	type rowState struct {
		phase        phase
		held         bool
		settledUntil time.Time
	}
	states := make(map[jobType]rowState, len(rows))
	for r := range rows {
		st, _ := e.jobs.state(r, a.now)
		held, settledUntil := e.gather.state(r)
		if ready, _ := e.jobs.triggerValues(r, a.now); !ready {
			held = true
		}
		states[r] = rowState{st.phase, held, settledUntil}
	}
	n := 0
	for _, u := range a.units {
		n += len(u)
	}
	a.shared, a.sharedUnit = make([]value, 0, n), make([]int, 0, n)
	for i, u := range a.units {
		for _, v := range u {
			st := states[*v.row]
			if st.phase == phaseConfirmed && !st.held {
				if !st.settledUntil.IsZero() && !v.at.After(st.settledUntil) {
					// The job type's gathered values went out recently: this
					// batch may have carried some of them.
					fp := fingerprint(v)
					if done, processed := e.gather.settledAs(fp); done {
						a.unitFPs[i] = append(a.unitFPs[i], fp)
						a.settled[fp] = processed
						continue
					}
				}
				a.shared = append(a.shared, v)
				a.sharedUnit = append(a.sharedUnit, i)
				continue
			}
			hv := heldValue{value: v, fp: fingerprint(v)}
			a.unitFPs[i] = append(a.unitFPs[i], hv.fp)
			a.gathered[*v.row] = append(a.gathered[*v.row], hv)
		}
	}
}

// hold adds the gathered values to those of their job types and returns
// the job types to send now (with the values that found no room), and how
// long the others wait for their items.
func (e *zabbixExporter) hold(ctx context.Context, a *attempt) (flush []jobType, extra map[jobType][]heldValue, wait time.Duration) {
	extra = map[jobType][]heldValue{}
	for r, vals := range a.gathered {
		added, overflow := e.gather.hold(r, vals, a.settled)
		if len(overflow) > 0 {
			e.telemetry.ExporterZabbixValuesUngathered.Add(ctx, int64(len(overflow)))
		}
		st, _ := e.jobs.state(r, a.now)
		switch st.phase {
		case phaseNew, phaseAnnounced:
			if added > 0 {
				e.telemetry.ExporterZabbixValuesDeferred.Add(ctx, int64(added))
			}
			if st.phase == phaseAnnounced {
				wait = max(wait, st.readyAt.Sub(a.now))
			}
		default:
			extra[r] = overflow
			flush = append(flush, r)
		}
	}
	sort.Slice(flush, func(i, k int) bool { return lessJobType(flush[i], flush[k]) })
	return flush, extra, wait
}

// sendShared sends the values of confirmed job types, oldest first. The
// job types of a request with refused values are sent again each in
// requests of their own, which tell which one Zabbix refuses.
func (e *zabbixExporter) sendShared(ctx context.Context, a *attempt) error {
	if len(a.shared) == 0 {
		return nil
	}
	byTime(a.shared, a.sharedUnit)
	res, err := e.send(ctx, stamp(a.shared, a.now))
	for i := res.Answered; i < len(a.shared); i++ {
		a.pending[a.sharedUnit[i]] = true
	}
	for _, ref := range res.Refused {
		refused := map[jobType]struct{}{}
		for i := ref.From; i < ref.To; i++ {
			a.pending[a.sharedUnit[i]] = true
			refused[*a.shared[i].row] = struct{}{}
		}
		for r := range refused {
			e.jobs.refused(r, a.now, false)
		}
		e.logger.Debug("Zabbix refused values of confirmed job types; they are sent again per job type",
			zap.Int("failed", ref.Failed), zap.Int("values", ref.To-ref.From))
	}
	return err
}

// outcome lists the units to send again, and counts those with values
// given up.
func (a *attempt) outcome() (pending []int, rejected int) {
	for i := range a.units {
		givenUp := false
		for _, fp := range a.unitFPs[i] {
			processed, ok := a.settled[fp]
			if !ok {
				a.pending[i] = true
			} else if !processed {
				givenUp = true
			}
		}
		switch {
		case a.pending[i]:
			pending = append(pending, i)
		case givenUp:
			rejected++
		}
	}
	return pending, rejected
}

// announce sends each host's discovery value in a request of its own, so
// that Zabbix's answer is about that host.
func (e *zabbixExporter) announce(ctx context.Context, hosts []string, now time.Time) error {
	for _, host := range hosts {
		lld, rows := e.jobs.announcement(host)
		res, err := e.send(ctx, []zabbixsender.Value{{Host: host, Key: e.cfg.Discovery.Key, Value: lld, Clock: now.Unix(), NS: now.Nanosecond()}})
		if err != nil {
			return err
		}
		e.telemetry.ExporterZabbixDiscoverySent.Add(ctx, 1)
		e.jobs.announced(host, rows, res.Failed == 0, now)
		if res.Failed > 0 {
			e.logger.Warn("Zabbix refused the discovery value: check that the host exists, is linked to the wafermonitor template, and accepts trapper values from this collector (Allowed hosts, TLS)",
				zap.String("host", host), zap.String("key", e.cfg.Discovery.Key))
		}
	}
	return nil
}

// byTime sorts values oldest first (stable), and units with them.
func byTime(values []value, units []int) {
	sorted := true
	for i := 1; i < len(values) && sorted; i++ {
		sorted = !values[i].at.Before(values[i-1].at)
	}
	if sorted {
		return
	}
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return values[idx[a]].at.Before(values[idx[b]].at) })
	v2, u2 := make([]value, len(values)), make([]int, len(units))
	for i, k := range idx {
		v2[i], u2[i] = values[k], units[k]
	}
	copy(values, v2)
	copy(units, u2)
}

func describe(r jobType) string {
	if r.legacy {
		return "legacy keys"
	}
	return r.app + " " + r.job + " (" + r.entityType + ")"
}

func lessJobType(a, b jobType) bool {
	if a.host != b.host {
		return a.host < b.host
	}
	if a.app != b.app {
		return a.app < b.app
	}
	if a.job != b.job {
		return a.job < b.job
	}
	if a.entityType != b.entityType {
		return a.entityType < b.entityType
	}
	if a.site != b.site {
		return a.site < b.site
	}
	return !a.legacy && b.legacy
}
