package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"cmp"
	"slices"
	"time"
)

// The periodic check looks at the open entities and job summaries that
// can be due (the due index, due.go), in the tables' order, while reports
// keep arriving: it holds h.mu in pieces of checkChunk entries and lets the
// reports waiting for it through between pieces (after a long downtime,
// many entries are due at once). It takes the rows first and, in its piece,
// skips a row whose entry has left the table meanwhile, and files the
// others again by their next time; entries added meanwhile are filed as
// they come and are checked at a later check. What it changes in the
// tables (entities given up, summaries dropped) it collects across the
// pieces and applies afterwards, in the same order as in one piece, each
// only if it is still there and still due.

// checkChunk is how many entries a check handles per hold of h.mu.
const checkChunk = 1000

// inPiece runs fn holding h.mu, then lets waiting reports through.
func (h *hierarchy) inPiece(fn func()) {
	h.mu.Lock()
	var start time.Time
	if h.pieceHook != nil {
		start = time.Now()
	}
	fn()
	h.mu.Unlock()
	if h.pieceHook != nil {
		h.pieceHook(time.Since(start))
	}
}

// inPieces calls fn for every item, h.mu held, chunk items per hold.
func inPieces[T any](h *hierarchy, items []T, fn func(T)) {
	for len(items) > 0 {
		n := min(len(items), max(h.checkChunk, 1))
		piece := items[:n]
		items = items[n:]
		h.inPiece(func() {
			for _, it := range piece {
				fn(it)
			}
		})
	}
}

// keepRows keeps the buffer of a sweep's rows for the next sweep of the
// table (one check runs at a time), so that a check allocates nothing for
// them while the collector is quiet; it holds no row past the sweep.
func keepRows[V any](buf *[]*row[V], rows []*row[V]) {
	clear(rows)
	*buf = rows[:0]
}

// dueRows takes the rows of t that may be due at now (every row with
// h.fullWalk). Called with h.mu held.
func dueRows[V any](h *hierarchy, t *table[V], now time.Time, buf []*row[V]) []*row[V] {
	if h.fullWalk {
		return t.appendRows(buf)
	}
	return t.takeDue(now.UnixNano(), buf)
}

// sweepEntities finds stalled and overdue entities, holding h.mu in pieces.
func (h *hierarchy) sweepEntities(now time.Time, em *emitter) {
	if !h.cfg.Watchdog.Enabled {
		return
	}
	var rows []*row[*openEntity]
	h.inPiece(func() { rows = dueRows(h, h.entities, now, h.entityRows) })
	defer keepRows(&h.entityRows, rows)
	var overdue []*openEntity
	inPieces(h, rows, func(r *row[*openEntity]) {
		if r.gone {
			return
		}
		e := r.val
		stall, maxDur := h.limits(e)
		running, silence := now.Sub(time.Unix(0, e.Opened)), now.Sub(time.Unix(0, e.LastSeen))
		switch {
		case pastMax(e, now, maxDur):
			overdue = append(overdue, e)
		case stall > 0 && !e.Stalled && silence >= stall:
			e.Stalled = true
			h.entities.markDirty(e.ID)
			h.reportStall(e, now, running, silence, stall, em)
		}
		h.entities.refile(r)
	})
	// Subjobs first, so that a job given up at the same check counts them.
	slices.SortStableFunc(overdue, func(a, b *openEntity) int {
		return cmp.Compare(typeOrder(a.Type), typeOrder(b.Type))
	})
	inPieces(h, overdue, func(e *openEntity) {
		// A terminal report between the pieces closed it, or it opened
		// again as a new entity: not given up.
		if cur, ok := h.entities.get(e.ID); !ok || cur != e || !h.overdue(e, now) {
			return
		}
		h.giveUp(e, now, em)
		h.entities.remove(e.ID)
	})
}

// overdue reports whether an entity is open past its maximum duration.
// Called with h.mu held.
func (h *hierarchy) overdue(e *openEntity, now time.Time) bool {
	_, maxDur := h.limits(e)
	return pastMax(e, now, maxDur)
}

// pastMax reports whether an entity is open past maxDur, its time down
// not counted; 0 is no limit.
func pastMax(e *openEntity, now time.Time, maxDur time.Duration) bool {
	return maxDur > 0 && now.Sub(time.Unix(0, e.Opened))-time.Duration(e.Down) >= maxDur
}

// sweepJobs reports orphan subjobs and forgets summaries that are done
// with, holding h.mu in pieces.
func (h *hierarchy) sweepJobs(now time.Time, em *emitter) {
	var rows []*row[*jobSummary]
	h.inPiece(func() { rows = dueRows(h, h.jobs, now, h.jobRows) })
	defer keepRows(&h.jobRows, rows)
	var drop []jobRef
	inPieces(h, rows, func(r *row[*jobSummary]) {
		if r.gone {
			return
		}
		id, s := r.key, r.val
		defer h.jobs.refile(r)
		if h.summaryDone(id, s, now) {
			drop = append(drop, jobRef{id, s})
			return
		}
		if !s.Passed && s.Total > 0 && !s.OrphanReported && !h.jobOpen(id) && now.Sub(time.Unix(0, s.Updated)) >= h.cfg.OrphanTimeout {
			s.OrphanReported = true
			h.jobs.markDirty(id)
			h.reportOrphans(s, now, em)
		}
	})
	inPieces(h, drop, func(j jobRef) {
		// Reports between the pieces may have made it current again.
		if cur, ok := h.jobs.get(j.id); !ok || cur != j.s || !h.summaryDone(j.id, j.s, now) {
			return
		}
		h.idCount -= j.s.ids.len()
		h.jobs.remove(j.id)
		delete(h.lateJobs, j.id)
	})
}

type jobRef struct {
	id string
	s  *jobSummary
}

func (h *hierarchy) jobOpen(id string) bool {
	_, ok := h.entities.get(id)
	return ok
}

// summaryDone reports whether a job summary is done with: its job passed
// longer than late_window ago, or its subjobs are orphans past
// orphan_timeout (and late_window once reported). Called with h.mu held.
func (h *hierarchy) summaryDone(id string, s *jobSummary, now time.Time) bool {
	idle := now.Sub(time.Unix(0, s.Updated))
	switch {
	case s.Passed:
		return now.Sub(time.Unix(0, s.PassedAt)) >= h.cfg.LateWindow
	case h.jobOpen(id):
		// The job is running: its subjobs are not orphans.
		return false
	case s.Total == 0:
		// Only the job's declared subjob count was seen.
		return idle >= h.cfg.OrphanTimeout
	case !s.OrphanReported:
		return false
	default:
		return idle >= h.cfg.OrphanTimeout+h.cfg.LateWindow
	}
}
