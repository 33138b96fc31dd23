package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"hash/fnv"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/entity"
)

const (
	// arrivalAllowance is how long a slot's decision waits after its grace
	// ended, for the start of a run that is on its way (a client's retry, an
	// SDK's batch): a run counts by the time it says it started.
	arrivalAllowance = 10 * time.Second
	// maxEarly bounds how long before its slot a run may start and count
	// for it (a scheduler whose clock runs a little ahead); at most grace.
	maxEarly = time.Minute
	// maxPendingRuns bounds the runs a schedule holds for slots not yet
	// decided (runs a client reports ahead of their slots).
	maxPendingRuns = 1000
	// maxRecentRuns is how many jobs a schedule remembers as runs, so that
	// a run reported twice (a retry, OTLP and v1, its span) counts once.
	maxRecentRuns = 64
	// maxSlotsPerRun bounds the slots looked at to place one run.
	maxSlotsPerRun = 1000
	// maxCatchUpSlots is how many of the slots that passed while the
	// collector was down are checked after it starts again, per schedule
	// (the most recent ones).
	maxCatchUpSlots = 100
	// maxDecisionsPerCheck bounds the slots one check decides per schedule.
	maxDecisionsPerCheck = 1000
)

// schedule is a configured schedule with its state.
type schedule struct {
	cfg                        ScheduleConfig
	slots                      slotSource
	service, businessKey, site *regexp.Regexp
	early, lateAfter           time.Duration
	fingerprint                uint64
	st                         scheduleState
}

// scheduleRun is a job taken as a run of a schedule. Times are Unix
// nanoseconds.
type scheduleRun struct {
	JobID       string
	Start       int64 // as the job reported it
	Res         entity.Resource
	BusinessKey string
}

// scheduleState is what a schedule keeps, and stores, between checks.
type scheduleState struct {
	// Fingerprint is the hash of the settings the slots and runs depend on:
	// when they change, the stored slots are not used.
	Fingerprint uint64
	// Next is the earliest slot not decided yet (Unix nanoseconds; 0 when
	// the schedule never fires again).
	Next int64
	// Runs are the runs taken for slots not decided yet, by slot.
	Runs map[int64]scheduleRun
	// Recent are the jobs last taken as runs (or found to start outside
	// every slot), oldest first.
	Recent []string
	// Missed counts the missed slots since CounterStart.
	Missed, CounterStart int64
	// LastSuccess is when the last successful run ended (0: none seen).
	LastSuccess int64
	// LateSlot is the latest slot a run was taken for, LateS how many
	// seconds after it the run started (0 when it started in time).
	LateSlot int64
	LateS    float64
	// Last is the run of LateSlot: the identity a missed event borrows.
	Last scheduleRun

	// Slots whose decision fell before heldBefore, while the collector was
	// down, wait until holdUntil for runs that reported elsewhere or are
	// still in a client's spool. Not stored.
	heldBefore, holdUntil int64
}

func newSchedule(cfg ScheduleConfig) (*schedule, error) {
	slots, err := newSlotSource(cfg)
	if err != nil {
		return nil, err
	}
	late := cfg.LateAfter
	if late == 0 {
		late = min(cfg.Grace/2, time.Minute)
	}
	h := fnv.New64a()
	for _, f := range []string{cfg.Cron, cfg.Every.String(), cfg.Timezone, cfg.Grace.String(), cfg.Match.Service, cfg.Match.BusinessKey, cfg.Match.Site} {
		_, _ = h.Write([]byte(f)) // a hash.Hash never fails
		_, _ = h.Write([]byte{0})
	}
	return &schedule{
		cfg: cfg, slots: slots,
		service: globPattern(cfg.Match.Service), businessKey: globPattern(cfg.Match.BusinessKey), site: globPattern(cfg.Match.Site),
		early: min(cfg.Grace, maxEarly), lateAfter: late, fingerprint: h.Sum64(),
		st: scheduleState{Runs: map[int64]scheduleRun{}},
	}, nil
}

// matches reports whether a job of this resource and business key is a run
// of the schedule.
func (s *schedule) matches(res entity.Resource, businessKey string) bool {
	ok := func(re *regexp.Regexp, v string) bool { return re == nil || re.MatchString(v) }
	return ok(s.service, res.ServiceName) && ok(s.businessKey, businessKey) && ok(s.site, res.SiteID)
}

// begin starts the schedule at now with no stored state: its first slot is
// the first after now.
func (s *schedule) begin(now time.Time) {
	s.st = scheduleState{Fingerprint: s.fingerprint, Runs: map[int64]scheduleRun{}, CounterStart: now.UnixNano()}
	s.st.Next = unixNano(s.slots.after(now))
}

// slotAtOrAfter is the first slot at or after t.
func (s *schedule) slotAtOrAfter(t int64) int64 {
	return unixNano(s.slots.after(time.Unix(0, t-1)))
}

func (s *schedule) slotAfter(t int64) int64 { return unixNano(s.slots.after(time.Unix(0, t))) }

// decideAt is when a slot is decided.
func (s *schedule) decideAt(slot int64) int64 {
	at := slot + int64(s.cfg.Grace+arrivalAllowance)
	if at <= s.st.heldBefore {
		at = max(at, s.st.holdUntil)
	}
	return at
}

// lateRun is a run that started late, to report.
type lateRun struct {
	run   scheduleRun
	slot  int64
	delay time.Duration
}

// take places a run in the earliest slot not decided and not taken whose
// window (from early before the slot to grace after it) holds its start. A
// job already taken, or a run outside every such window, changes nothing
// more. It reports whether the state changed and the late start, if any.
func (s *schedule) take(run scheduleRun) (changed bool, late *lateRun) {
	st := &s.st
	if slices.Contains(st.Recent, run.JobID) {
		return false, nil
	}
	st.Recent = append(st.Recent, run.JobID)
	if len(st.Recent) > maxRecentRuns {
		st.Recent = slices.Delete(st.Recent, 0, len(st.Recent)-maxRecentRuns)
	}
	if st.Next == 0 || len(st.Runs) >= maxPendingRuns {
		return true, nil
	}
	slot := st.Next
	if from := run.Start - int64(s.cfg.Grace); from > slot {
		slot = s.slotAtOrAfter(from)
	}
	last := run.Start + int64(s.early)
	for i := 0; slot != 0 && slot <= last && i < maxSlotsPerRun; i++ {
		if _, taken := st.Runs[slot]; !taken {
			st.Runs[slot] = run
			delay := time.Duration(max(run.Start-slot, 0))
			if slot >= st.LateSlot {
				st.LateSlot, st.LateS, st.Last = slot, delay.Seconds(), run
			}
			if delay > s.lateAfter {
				late = &lateRun{run: run, slot: slot, delay: delay}
			}
			return true, late
		}
		slot = s.slotAfter(slot)
	}
	return true, nil
}

// succeeded records a successful run that ended at end.
func (s *schedule) succeeded(end int64) bool {
	if end <= s.st.LastSuccess {
		return false
	}
	s.st.LastSuccess = end
	return true
}

// decide settles the slots whose decision time has come: a slot with a run
// is done, one without is missed. It returns the missed slots.
func (s *schedule) decide(now int64) (missed []int64, changed bool) {
	st := &s.st
	for i := 0; st.Next != 0 && i < maxDecisionsPerCheck && now >= s.decideAt(st.Next); i++ {
		if _, ok := st.Runs[st.Next]; ok {
			delete(st.Runs, st.Next)
		} else {
			st.Missed++
			missed = append(missed, st.Next)
		}
		st.Next = s.slotAfter(st.Next)
		changed = true
	}
	return missed, changed
}

// resume continues the schedule from its stored state at now, after the
// collector was down. The slots whose decision fell in the downtime (at most
// maxCatchUpSlots, the most recent) are decided after a grace from now, so
// that runs reported elsewhere or held in a client's spool can still come.
// It returns how many earlier slots were not checked (at least).
func (s *schedule) resume(stored scheduleState, now time.Time) (skipped int) {
	if stored.Fingerprint != s.fingerprint {
		// Other slots or runs: only the series go on.
		s.begin(now)
		s.st.Missed, s.st.CounterStart = stored.Missed, stored.CounterStart
		s.st.LastSuccess, s.st.LateSlot, s.st.LateS, s.st.Last = stored.LastSuccess, stored.LateSlot, stored.LateS, stored.Last
		return 0
	}
	s.st = stored
	if s.st.Runs == nil {
		s.st.Runs = map[int64]scheduleRun{}
	}
	n := now.UnixNano()
	wait := int64(s.cfg.Grace + arrivalAllowance)
	// After a long downtime, start near the slots to check rather than walk
	// every slot since the stop.
	if from := s.catchUpFrom(n - wait); from != 0 {
		s.st.Next = from
		skipped = maxCatchUpSlots // at least; the log says so
	}
	var due []int64
	for slot := s.st.Next; slot != 0 && slot+wait <= n; slot = s.slotAfter(slot) {
		due = append(due, slot)
		if len(due) > 2*maxCatchUpSlots {
			due = slices.Delete(due, 0, maxCatchUpSlots)
			skipped += maxCatchUpSlots
		}
	}
	if len(due) > maxCatchUpSlots {
		skipped += len(due) - maxCatchUpSlots
		due = due[len(due)-maxCatchUpSlots:]
	}
	if skipped > 0 {
		if len(due) > 0 {
			s.st.Next = due[0]
		}
		for slot := range s.st.Runs {
			if slot < s.st.Next {
				delete(s.st.Runs, slot)
			}
		}
	}
	s.st.heldBefore, s.st.holdUntil = n, n+wait
	return skipped
}

// catchUpFrom is a slot to resume from, after a downtime, that leaves at
// least maxCatchUpSlots slots up to decided (the last slot to decide now),
// found without walking every slot since the stored one: back twice as many
// of the first period as are checked, then twice as far each time while
// fewer slots are left (a cron's periods differ: five slots a minute apart
// and then none for a day). 0 when walking from the stored slot is as short.
func (s *schedule) catchUpFrom(decided int64) int64 {
	next := s.st.Next
	if next == 0 || decided <= next {
		return 0
	}
	period := s.slotAfter(next) - next
	if period <= 0 {
		return 0
	}
	span := decided - next
	if span < 0 { // overflow of a damaged stored slot: as far as can be
		span = math.MaxInt64
	}
	if period >= span/(2*maxCatchUpSlots) {
		return 0
	}
	for back := 2 * maxCatchUpSlots * period; back < span; back *= 2 {
		from := s.slotAtOrAfter(decided - back)
		if from == 0 {
			return 0
		}
		n := 0
		for slot := from; slot != 0 && slot <= decided && n < maxCatchUpSlots; slot = s.slotAfter(slot) {
			n++
		}
		if n >= maxCatchUpSlots {
			return from
		}
		if back > span/2 {
			break
		}
	}
	return 0
}

// missedID is the id of the missed run of a slot: the same for the same
// schedule and slot, whichever collector, restart or retry reports it.
func (s *schedule) missedID(slot int64) string {
	return "schedule " + s.cfg.Name + " " + slotText(slot)
}

// slotText is a slot as RFC 3339 in UTC.
func slotText(slot int64) string {
	return time.Unix(0, slot).UTC().Format(time.RFC3339Nano)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
