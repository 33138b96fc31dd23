package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Eviction classes of open entities: subjobs whose job was not open when
// they opened go first, jobs last.
const (
	classOrphanSubjob = iota
	classSubjob
	classJob
	numEntityClasses
)

var entityClassNames = [numEntityClasses]string{"orphan_subjob", "subjob", "job"}

// openEntity is an open job or subjob as the watchdog holds it. Times are Unix
// nanoseconds of the processor's clock: when it was first seen and when it
// last reported, the latter moved on by the time the collector was down since
// (silence is counted while the collector runs). The JSON form is the one the
// first storage format used (see legacy.go).
type openEntity struct {
	Type        string          `json:"type"`
	ID          string          `json:"id"`
	ParentID    string          `json:"parent,omitempty"`
	BusinessKey string          `json:"bk,omitempty"`
	SubKey      string          `json:"sk,omitempty"`
	Res         entity.Resource `json:"res"`
	// Sent are the ids the client sent when they were not UUIDs; nil when
	// it sent UUIDs, as most do, to keep open entities small.
	Sent     *sentIDs `json:"sent,omitempty"`
	Opened   int64    `json:"opened"`
	LastSeen int64    `json:"seen"`
	Stalled  bool     `json:"stalled,omitempty"`
	// Down is how long the collector was down while the entity was open, in
	// nanoseconds: not counted towards max_duration.
	Down int64 `json:"-"`

	// The limits that apply, worked out once from the rules.
	hasLimits          bool
	stall, maxDuration time.Duration
}

// sentIDs are an entity's ids as its client sent them (entity.Ref's
// IDOriginal and ParentIDOriginal).
type sentIDs struct {
	ID       string `json:"id,omitempty"`
	ParentID string `json:"parent,omitempty"`
}

// newSentIDs is nil when the client sent UUIDs.
func newSentIDs(id, parent string) *sentIDs {
	if id == "" && parent == "" {
		return nil
	}
	return &sentIDs{ID: id, ParentID: parent}
}

func (e *openEntity) ref() entity.Ref {
	ref := entity.Ref{Type: e.Type, ID: e.ID, ParentID: e.ParentID, BusinessKey: e.BusinessKey, SubKey: e.SubKey}
	if e.Sent != nil {
		ref.IDOriginal, ref.ParentIDOriginal = e.Sent.ID, e.Sent.ParentID
	}
	return ref
}

// compiledRule is a WatchdogRule with its patterns compiled.
type compiledRule struct {
	serviceName, businessKey *regexp.Regexp
	entityType               string
	stall, maxDuration       time.Duration
}

func compileRules(rules []WatchdogRule) ([]compiledRule, error) {
	out := make([]compiledRule, 0, len(rules))
	for i, r := range rules {
		svc, err := compileFull(r.ServiceName)
		if err != nil {
			return nil, fmt.Errorf("watchdog::rules[%d]::service_name: %w", i, err)
		}
		bk, err := compileFull(r.BusinessKey)
		if err != nil {
			return nil, fmt.Errorf("watchdog::rules[%d]::business_key: %w", i, err)
		}
		out = append(out, compiledRule{serviceName: svc, businessKey: bk, entityType: r.EntityType, stall: r.StallTimeout, maxDuration: r.MaxDuration})
	}
	return out, nil
}

func (r *compiledRule) matches(e *openEntity) bool {
	return (r.entityType == "" || r.entityType == e.Type) &&
		(r.serviceName == nil || r.serviceName.MatchString(e.Res.ServiceName)) &&
		(r.businessKey == nil || r.businessKey.MatchString(e.BusinessKey))
}

// limits returns the stall timeout and maximum duration that apply to an
// entity: the first matching rule's, else the global ones.
func (h *hierarchy) limits(e *openEntity) (time.Duration, time.Duration) {
	if !e.hasLimits {
		e.stall, e.maxDuration = h.matchLimits(e)
		e.hasLimits = true
	}
	return e.stall, e.maxDuration
}

func (h *hierarchy) matchLimits(e *openEntity) (time.Duration, time.Duration) {
	stall, maxDur := h.cfg.Watchdog.StallTimeout, h.cfg.Watchdog.MaxDuration
	for i := range h.rules {
		if h.rules[i].matches(e) {
			if h.rules[i].stall > 0 {
				stall = h.rules[i].stall
			}
			if h.rules[i].maxDuration > 0 {
				maxDur = h.rules[i].maxDuration
			}
			break
		}
	}
	if d := h.schedules.maxRuntime(e); d > 0 {
		maxDur = d
	}
	return stall, maxDur
}

// observeRecord updates the open entities from one lifecycle log record.
// Records that are not lifecycle events pass unnoticed. Called with h.mu held.
func (h *hierarchy) observeRecord(res pcommon.Resource, lr plog.LogRecord, now time.Time, em *emitter) {
	v := entity.Of(lr.Attributes())
	kind, id, typ := v.Kind(), v.ID(), v.Type()
	if kind == "" || !(entity.Ref{Type: typ, ID: id}).IsEntity() {
		return
	}
	if typ == semconv.EntityTypeJob {
		if kind == semconv.KindStarted {
			h.schedules.observeStart(res, lr, id, v.BusinessKey(), now)
		}
		if n, ok := v.ExpectedSubjobs(); ok {
			s := h.summaryFor(id, entity.ResourceFrom(res), v.BusinessKey(), now, true)
			s.setExpected(n)
			h.keepJobIDOriginal(id, s, v.IDOriginal())
			h.jobs.touch(id)
		} else if s, ok := h.jobs.get(id); ok {
			h.markReported(id, s)
			h.keepJobIDOriginal(id, s, v.IDOriginal())
		}
	}
	if !h.cfg.Watchdog.Enabled {
		return
	}
	switch kind {
	case semconv.KindStalled, semconv.KindRecovered, semconv.KindLateSubjobs, semconv.KindOrphanSubjobs, semconv.KindMissed, semconv.KindLateStart:
		// Another watchdog's findings (an agent's, upstream) are not signs
		// of life of the entity.
		return
	}
	e, open := h.entities.get(id)
	if semconv.IsTerminal(kind) {
		if open {
			h.recoverIfStalled(e, now, em)
			h.entities.remove(id)
		}
		return
	}
	if open {
		h.recoverIfStalled(e, now, em)
		e.LastSeen = now.UnixNano()
		h.entities.touch(id)
		return
	}
	e = &openEntity{
		Type:        typ,
		ID:          id,
		ParentID:    v.ParentID(),
		BusinessKey: v.BusinessKey(),
		SubKey:      v.SubKey(),
		Sent:        newSentIDs(v.IDOriginal(), v.ParentIDOriginal()),
		Res:         entity.ResourceFrom(res),
		Opened:      now.UnixNano(),
		LastSeen:    now.UnixNano(),
	}
	h.putEntity(e, h.entityClass(e))
}

// entityClass is the eviction class of an entity when it opens.
func (h *hierarchy) entityClass(e *openEntity) int {
	if e.Type == semconv.EntityTypeJob {
		return classJob
	}
	if parent, ok := h.entities.get(e.ParentID); ok && parent.Type == semconv.EntityTypeJob {
		return classSubjob
	}
	return classOrphanSubjob
}

// putEntity holds an open entity and counts what the cap evicted for it.
func (h *hierarchy) putEntity(e *openEntity, class int) {
	for _, ev := range h.entities.put(e.ID, e, class) {
		h.telemetry.ProcessorJobhierarchyEvictions.Add(h.ctx, 1, evictionAttrs("entities", reasonMaxOpenEntities, entityClassNames[ev.class]))
	}
}

func (h *hierarchy) recoverIfStalled(e *openEntity, now time.Time, em *emitter) {
	if !e.Stalled {
		return
	}
	e.Stalled = false
	silence := now.Sub(time.Unix(0, e.LastSeen))
	lr := em.event(e.Res, e.ref(), semconv.KindRecovered, semconv.StatusRunning, now)
	lr.Attributes().PutDouble(semconv.AttrWatchdogSilenceS, silence.Seconds())
	h.telemetry.ProcessorJobhierarchyRecoveries.Add(h.ctx, 1, typeAttr(e.Type))
}

// reportStall emits the stalled event of an entity silent past its stall
// timeout. Called with h.mu held.
func (h *hierarchy) reportStall(e *openEntity, now time.Time, running, silence, stall time.Duration, em *emitter) {
	lr := em.event(e.Res, e.ref(), semconv.KindStalled, semconv.StatusRunning, now)
	la := lr.Attributes()
	la.PutDouble(semconv.AttrWatchdogSilenceS, silence.Seconds())
	la.PutDouble(semconv.AttrWatchdogRunningS, running.Seconds())
	la.PutDouble(semconv.AttrWatchdogLimitS, stall.Seconds())
	h.telemetry.ProcessorJobhierarchyStalls.Add(h.ctx, 1, typeAttr(e.Type))
}

func typeOrder(typ string) int {
	if typ == semconv.EntityTypeSubjob {
		return 0
	}
	return 1
}

// giveUp emits the timeout event and error span of an entity open past its
// maximum duration; a subjob's span is counted in its job's roll-ups, a
// job's span carries them. Called with h.mu held.
func (h *hierarchy) giveUp(e *openEntity, now time.Time, em *emitter) {
	_, maxDur := h.limits(e)
	opened := time.Unix(0, e.Opened)
	running, silence := now.Sub(opened), now.Sub(time.Unix(0, e.LastSeen))
	msg := fmt.Sprintf("%s %s still open after %s (max_duration %s); no terminal event, given up", e.Type, e.ID, running.Round(time.Second), maxDur)
	if e.Down > 0 {
		msg = fmt.Sprintf("%s %s still open after %s (max_duration %s, not counting %s while the collector was down); no terminal event, given up",
			e.Type, e.ID, running.Round(time.Second), maxDur, time.Duration(e.Down).Round(time.Second))
	}
	lr := em.event(e.Res, e.ref(), semconv.KindTimeout, semconv.StatusTimedOut, now)
	la := lr.Attributes()
	la.PutStr(semconv.AttrOutcome, semconv.OutcomeTimeout)
	la.PutStr(semconv.AttrErrorMessage, msg)
	la.PutDouble(semconv.AttrWatchdogRunningS, running.Seconds())
	la.PutDouble(semconv.AttrWatchdogSilenceS, silence.Seconds())
	la.PutDouble(semconv.AttrWatchdogLimitS, maxDur.Seconds())
	span := em.timeoutSpan(e.Res, e.ref(), opened, now, msg)
	switch {
	case e.Type == semconv.EntityTypeJob:
		h.passJob(span, e.ID, e.Res, now)
	case e.ParentID != "":
		h.addSubjob(span, e.ID, e.ParentID, e.Res, now)
	}
	h.telemetry.ProcessorJobhierarchyTimeouts.Add(h.ctx, 1, typeAttr(e.Type))
}
