package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"time"
)

// rowGroup is the rows of a batch that go to one period's file.
type rowGroup struct {
	stem string
	// periodEnd is when the file's period is over (zero: never).
	periodEnd time.Time
	rows      []int
}

// placement groups a batch's rows by the file they go to, so that a batch
// opens each of its files once, whatever the order of its rows' times.
type placement struct {
	groups []rowGroup
	byStem map[string]int
	// outOfRange counts the rows of the batch placed in the out_of_range
	// file because their time is outside the event-time window.
	outOfRange int
	// period is the latest period whose stem was resolved, kept from batch
	// to batch: rows of the current period, nearly all of them, find their
	// file's name without resolving it again.
	period struct {
		start, end time.Time
		stem       string
		// outStem is the stem of the period's out_of_range file, once needed.
		outStem string
	}
	// window is the event-time window's bounds, kept while the clock stays
	// in [from, to): they move only when now-past or now+future enters
	// another period.
	window struct {
		from, to, lo, hi time.Time
		set              bool
	}
}

// windowAt is the window's bounds at now (eventWindow.bounds).
func (p *placement) windowAt(w *fileWriter, unit periodUnit, now time.Time) (lo, hi time.Time) {
	c := &p.window
	if c.set && !now.Before(c.from) && now.Before(c.to) {
		return c.lo, c.hi
	}
	win := w.spec.window
	lo, hi = win.bounds(unit, now)
	if unit == periodNone {
		return lo, hi
	}
	// From the latest time at which a bound changed to the first at which
	// one will.
	from, to := time.Time{}, time.Time{}
	if win.past > 0 {
		from, to = lo.Add(win.past), unit.end(now.Add(-win.past)).Add(win.past)
	}
	if win.future > 0 {
		if f := unit.start(now.Add(win.future)).Add(-win.future); from.IsZero() || f.After(from) {
			from = f
		}
		if t := hi.Add(-win.future); to.IsZero() || t.Before(to) {
			to = t
		}
	}
	if from.IsZero() && to.IsZero() {
		return lo, hi // an open window: nothing to keep
	}
	c.from, c.to, c.lo, c.hi, c.set = from, to, lo, hi, true
	return lo, hi
}

// periodOf is the stem, start and end of the period that holds at.
func (p *placement) periodOf(w *fileWriter, at time.Time) (stem string, start, end time.Time) {
	c := &p.period
	if c.stem != "" && !at.Before(c.start) && at.Before(c.end) {
		return c.stem, c.start, c.end
	}
	at = at.In(w.loc)
	unit := w.tmpl.unit
	stem, start = w.tmpl.resolve(at), unit.start(at)
	end = unit.end(at)
	if unit != periodNone {
		c.stem, c.start, c.end, c.outStem = stem, start, end, ""
	}
	return stem, start, end
}

// outOfRangeStem is the stem of the out_of_range file of stem's period.
func (p *placement) outOfRangeStem(stem string) string {
	c := &p.period
	if stem != c.stem {
		return stem + outOfRangeSuffix
	}
	if c.outStem == "" {
		c.outStem = stem + outOfRangeSuffix
	}
	return c.outStem
}

// place fills p with the groups of b's rows, in the order each file first
// appears. A row goes to the period of its event time (time_source event)
// or of now (wall_clock, or a row without a time). A row whose event time
// is outside the window goes to the out_of_range file of now's period, so
// that the rows of one batch, whatever their times, open at most the
// periods of the window plus one file.
func (w *fileWriter) place(b *rowBatch, now time.Time, p *placement) {
	for i := range p.groups {
		p.groups[i].rows = p.groups[i].rows[:0]
	}
	p.groups = p.groups[:0]
	if p.byStem == nil {
		p.byStem = map[string]int{}
	}
	clear(p.byStem)
	p.outOfRange = 0

	unit := w.tmpl.unit
	now = now.In(w.loc)
	lo, hi := p.windowAt(w, unit, now)
	last := -1 // the group of the previous row
	// The previous row's period (or, out of range, none): a row in the
	// same one joins its group without resolving its file name.
	var lastStart, lastEnd time.Time
	lastOut := false
	for i := range b.ends {
		at, out := now, false
		if w.spec.timeSource == TimeSourceEvent && !b.times[i].IsZero() {
			at = b.times[i]
			if unit != periodNone && ((!lo.IsZero() && at.Before(lo)) || (!hi.IsZero() && !at.Before(hi))) {
				at, out = now, true
			}
		}
		if out {
			p.outOfRange++
		}
		if last >= 0 && out == lastOut && (out || unit == periodNone || (!at.Before(lastStart) && at.Before(lastEnd))) {
			p.groups[last].rows = append(p.groups[last].rows, i)
			continue
		}
		stem, start, end := p.periodOf(w, at)
		if out {
			stem = p.outOfRangeStem(stem)
		}
		g, ok := p.byStem[stem]
		if !ok {
			g = len(p.groups)
			p.byStem[stem] = g
			if g < cap(p.groups) {
				p.groups = p.groups[:g+1]
				p.groups[g].stem, p.groups[g].periodEnd = stem, end
				p.groups[g].rows = p.groups[g].rows[:0]
			} else {
				p.groups = append(p.groups, rowGroup{stem: stem, periodEnd: end})
			}
		}
		p.groups[g].rows = append(p.groups[g].rows, i)
		last, lastOut = g, out
		lastStart, lastEnd = start, end
	}
}
