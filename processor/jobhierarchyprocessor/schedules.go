package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// schedules are the processor's schedules. Every method is called with
// h.mu held; a nil *schedules (none configured) does nothing.
type schedules struct {
	list []*schedule
	// dirty is set when the state changed since it was last stored.
	dirty bool
	// metricsChanged is set when a series changed since the last emission.
	metricsChanged bool
	lastMetrics    time.Time
	// late are the late starts to report at the next check.
	late []pendingLate
}

type pendingLate struct {
	s *schedule
	lateRun
}

func newSchedules(cfgs []ScheduleConfig) (*schedules, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	ss := &schedules{}
	for _, c := range cfgs {
		s, err := newSchedule(c)
		if err != nil {
			return nil, fmt.Errorf("schedules (%s): %w", c.Name, err)
		}
		ss.list = append(ss.list, s)
	}
	return ss, nil
}

// beginAll starts every schedule afresh at now.
func (ss *schedules) beginAll(now time.Time) {
	if ss == nil {
		return
	}
	for _, s := range ss.list {
		s.begin(now)
	}
	ss.dirty, ss.metricsChanged = true, true
}

// observeStart takes a job's started record as a run of the schedules it
// matches, starting at the record's time (the client's: a replay or a retry
// keeps it), else the time it was received.
func (ss *schedules) observeStart(res pcommon.Resource, lr plog.LogRecord, id, businessKey string, now time.Time) {
	if ss == nil {
		return
	}
	start := lr.Timestamp()
	if start == 0 {
		start = lr.ObservedTimestamp()
	}
	if start == 0 {
		start = pcommon.NewTimestampFromTime(now)
	}
	ss.take(scheduleRun{JobID: id, Start: int64(start), Res: entity.ResourceFrom(res), BusinessKey: businessKey}) //nolint:gosec // nanoseconds until 2262
}

// observeJobSpan takes a job's span as a run (a job that reported only its
// end) and a successful outcome as the schedules' last success.
func (ss *schedules) observeJobSpan(span ptrace.Span, id string, res entity.Resource, now time.Time) {
	if ss == nil {
		return
	}
	v := entity.Of(span.Attributes())
	bk := v.BusinessKey()
	if span.StartTimestamp() != 0 {
		ss.take(scheduleRun{JobID: id, Start: int64(span.StartTimestamp()), Res: res, BusinessKey: bk}) //nolint:gosec // nanoseconds until 2262
	}
	switch v.JobOutcome() {
	case semconv.OutcomeSuccess, semconv.OutcomeSuccessWithFailures:
	default:
		return
	}
	end := min(int64(span.EndTimestamp()), now.UnixNano()) //nolint:gosec // nanoseconds until 2262
	for _, s := range ss.list {
		if s.matches(res, bk) && s.succeeded(end) {
			ss.dirty, ss.metricsChanged = true, true
		}
	}
}

func (ss *schedules) take(run scheduleRun) {
	for _, s := range ss.list {
		if !s.matches(run.Res, run.BusinessKey) {
			continue
		}
		changed, late := s.take(run)
		if changed {
			ss.dirty, ss.metricsChanged = true, true
		}
		if late != nil && len(ss.late) < maxPendingRuns {
			ss.late = append(ss.late, pendingLate{s: s, lateRun: *late})
		}
	}
}

// maxRuntime is the max_runtime of the first schedule a job matches, 0
// when none sets one.
func (ss *schedules) maxRuntime(e *openEntity) time.Duration {
	if ss == nil || e.Type != semconv.EntityTypeJob {
		return 0
	}
	for _, s := range ss.list {
		if s.cfg.MaxRuntime > 0 && s.matches(e.Res, e.BusinessKey) {
			return s.cfg.MaxRuntime
		}
	}
	return 0
}

// sweep reports the late starts taken since the last check and decides the
// slots whose time has come, reporting those missed.
func (ss *schedules) sweep(now time.Time, em *emitter) {
	if ss == nil {
		return
	}
	for _, l := range ss.late {
		l.s.lateStartEvent(l.lateRun, now, em)
	}
	ss.late = ss.late[:0]
	for _, s := range ss.list {
		missed, changed := s.decide(now.UnixNano())
		for _, slot := range missed {
			s.missedEvent(slot, now, em)
		}
		if changed {
			ss.dirty = true
		}
		if len(missed) > 0 {
			ss.metricsChanged = true
		}
	}
}

// missedEvent emits the missed event of a slot. Its entity is a job whose
// id derives from the schedule and slot, so that a repeat (a restart before
// the state was stored) is the same event: same id, time and idempotency
// key. Site and application are the match's when it names them, else
// those of the schedule's last run.
func (s *schedule) missedEvent(slot int64, now time.Time, em *emitter) {
	res := s.st.Last.Res
	if v := literal(s.cfg.Match.Service); v != "" {
		res.ServiceName = v
	}
	if v := literal(s.cfg.Match.Site); v != "" {
		res.SiteID = v
	}
	bk := literal(s.cfg.Match.BusinessKey)
	if bk == "" {
		bk = s.cfg.Name
	}
	ref := entity.Ref{Type: semconv.EntityTypeJob, ID: uuid.UUID(ids.FromName(s.missedID(slot))).String(), BusinessKey: bk}
	deadline := time.Unix(0, slot).Add(s.cfg.Grace)
	lr := em.event(res, ref, semconv.KindMissed, semconv.StatusMissed, deadline)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	msg := fmt.Sprintf("schedule %s: no matching job started within %s of its slot %s", s.cfg.Name, s.cfg.Grace, s.slotInZone(slot))
	lr.Body().SetStr(msg)
	attrs := lr.Attributes()
	attrs.PutStr(semconv.AttrErrorMessage, msg)
	s.putScheduleAttrs(attrs, slot)
	attrs.PutDouble(semconv.AttrScheduleGraceS, s.cfg.Grace.Seconds())
	md := attrs.PutEmptyMap(semconv.AttrMetadata)
	md.PutStr("schedule", s.cfg.Name)
	md.PutStr("slot", slotText(slot))
	md.PutDouble("grace_s", s.cfg.Grace.Seconds())
}

// lateStartEvent emits the late_start event of a run, about the run's job,
// at the time it started.
func (s *schedule) lateStartEvent(l lateRun, now time.Time, em *emitter) {
	ref := entity.Ref{Type: semconv.EntityTypeJob, ID: l.run.JobID, BusinessKey: l.run.BusinessKey}
	lr := em.event(l.run.Res, ref, semconv.KindLateStart, semconv.StatusRunning, time.Unix(0, l.run.Start))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	lr.Body().SetStr(fmt.Sprintf("schedule %s: job %s started %s after its slot %s", s.cfg.Name, l.run.JobID, l.delay, s.slotInZone(l.slot)))
	attrs := lr.Attributes()
	s.putScheduleAttrs(attrs, l.slot)
	attrs.PutDouble(semconv.AttrScheduleLateS, l.delay.Seconds())
	md := attrs.PutEmptyMap(semconv.AttrMetadata)
	md.PutStr("schedule", s.cfg.Name)
	md.PutStr("slot", slotText(l.slot))
	md.PutDouble("late_s", l.delay.Seconds())
}

func (s *schedule) putScheduleAttrs(attrs pcommon.Map, slot int64) {
	attrs.PutStr(semconv.AttrScheduleName, s.cfg.Name)
	attrs.PutStr(semconv.AttrScheduleSlot, slotText(slot))
}

// slotInZone is a slot as RFC 3339 in the schedule's time zone.
func (s *schedule) slotInZone(slot int64) string {
	t := time.Unix(0, slot).UTC()
	if c, ok := s.slots.(*cronSlots); ok {
		t = t.In(c.loc)
	}
	return t.Format(time.RFC3339)
}
