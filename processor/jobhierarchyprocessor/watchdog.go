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

// openEntity is an open job or subjob as the watchdog holds it. Times are Unix
// nanoseconds of the processor's clock: when it was first seen and when it
// last reported. The JSON form is the persisted one.
type openEntity struct {
	Type        string          `json:"type"`
	ID          string          `json:"id"`
	ParentID    string          `json:"parent,omitempty"`
	BusinessKey string          `json:"bk,omitempty"`
	SubKey      string          `json:"sk,omitempty"`
	Res         entity.Resource `json:"res"`
	Opened      int64           `json:"opened"`
	LastSeen    int64           `json:"seen"`
	Stalled     bool            `json:"stalled,omitempty"`

	// The limits that apply, worked out once from the rules.
	hasLimits          bool
	stall, maxDuration time.Duration
}

func (e *openEntity) ref() entityRef {
	return entityRef{Type: e.Type, ID: e.ID, ParentID: e.ParentID, BusinessKey: e.BusinessKey, SubKey: e.SubKey}
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
	return stall, maxDur
}

// observeRecord updates the open entities from one lifecycle log record.
// Records that are not lifecycle events pass unnoticed. Called with h.mu held.
func (h *hierarchy) observeRecord(res pcommon.Resource, lr plog.LogRecord, now time.Time, em *emitter) {
	attrs := lr.Attributes()
	kind := str(attrs, semconv.AttrEventKind)
	id := str(attrs, semconv.AttrEntityID)
	typ := str(attrs, semconv.AttrEntityType)
	if kind == "" || id == "" || (typ != semconv.EntityTypeJob && typ != semconv.EntityTypeSubjob) {
		return
	}
	if typ == semconv.EntityTypeJob {
		if n, ok := integer(attrs, semconv.AttrExpectedSubjobs); ok {
			h.summaryFor(id, entity.ResourceFrom(res), str(attrs, semconv.AttrBusinessKey), now).setExpected(n)
			h.jobs.touch(id)
		}
	}
	if !h.cfg.Watchdog.Enabled {
		return
	}
	switch kind {
	case semconv.KindStalled, semconv.KindRecovered, semconv.KindLateSubjobs, semconv.KindOrphanSubjobs:
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
		ParentID:    str(attrs, semconv.AttrParentID),
		BusinessKey: str(attrs, semconv.AttrBusinessKey),
		SubKey:      str(attrs, semconv.AttrSubKey),
		Res:         entity.ResourceFrom(res),
		Opened:      now.UnixNano(),
		LastSeen:    now.UnixNano(),
	}
	if evicted := h.entities.put(id, e); len(evicted) > 0 {
		h.telemetry.ProcessorJobhierarchyEvictions.Add(h.ctx, int64(len(evicted)), tableEntities)
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

// sweepEntities finds stalled and overdue entities. Called with h.mu held.
func (h *hierarchy) sweepEntities(now time.Time, em *emitter) {
	if !h.cfg.Watchdog.Enabled {
		return
	}
	var givenUp []*openEntity
	h.entities.each(func(_ string, e *openEntity) {
		stall, maxDur := h.limits(e)
		opened, seen := time.Unix(0, e.Opened), time.Unix(0, e.LastSeen)
		running, silence := now.Sub(opened), now.Sub(seen)
		switch {
		case maxDur > 0 && running >= maxDur:
			givenUp = append(givenUp, e)
			msg := fmt.Sprintf("%s %s still open after %s (max_duration %s); no terminal event, given up", e.Type, e.ID, running.Round(time.Second), maxDur)
			lr := em.event(e.Res, e.ref(), semconv.KindTimeout, semconv.StatusTimedOut, now)
			la := lr.Attributes()
			la.PutStr(semconv.AttrOutcome, semconv.OutcomeTimeout)
			la.PutStr(semconv.AttrErrorMessage, msg)
			la.PutDouble(semconv.AttrWatchdogRunningS, running.Seconds())
			la.PutDouble(semconv.AttrWatchdogSilenceS, silence.Seconds())
			la.PutDouble(semconv.AttrWatchdogLimitS, maxDur.Seconds())
			span := em.timeoutSpan(e.Res, e.ref(), opened, now, msg)
			if e.Type == semconv.EntityTypeJob {
				h.passJob(span, e.ID, e.Res, now)
			}
			h.telemetry.ProcessorJobhierarchyTimeouts.Add(h.ctx, 1, typeAttr(e.Type))
		case stall > 0 && !e.Stalled && silence >= stall:
			e.Stalled = true
			h.entities.touchDirtyOnly(e.ID)
			lr := em.event(e.Res, e.ref(), semconv.KindStalled, semconv.StatusRunning, now)
			la := lr.Attributes()
			la.PutDouble(semconv.AttrWatchdogSilenceS, silence.Seconds())
			la.PutDouble(semconv.AttrWatchdogRunningS, running.Seconds())
			la.PutDouble(semconv.AttrWatchdogLimitS, stall.Seconds())
			h.telemetry.ProcessorJobhierarchyStalls.Add(h.ctx, 1, typeAttr(e.Type))
		}
	})
	for _, e := range givenUp {
		h.entities.remove(e.ID)
	}
}
