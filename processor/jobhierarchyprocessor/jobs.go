package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Eviction classes of job summaries: summaries of jobs that never reported
// themselves (only subjobs naming them as parent) go first.
const (
	classOrphan = iota
	classReported
	numSummaryClasses
)

var summaryClassNames = [numSummaryClasses]string{"orphan", "reported"}

// Caps that force an eviction, as the evictions metric's reason.
const (
	reasonMaxJobSummaries = "max_job_summaries"
	reasonMaxSubjobIDs    = "max_subjob_ids"
	reasonMaxOpenEntities = "max_open_entities"
)

func evictionAttrs(table, reason, class string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.String("table", table), attribute.String("reason", reason), attribute.String("class", class)))
}

// summaryFor returns the job's summary, creating it when needed. reported
// says the caller holds a report of the job itself. A summary made again
// for a job whose earlier one was evicted is marked incomplete. Called with
// h.mu held.
func (h *hierarchy) summaryFor(id string, res entity.Resource, businessKey string, now time.Time, reported bool) *jobSummary {
	if s, ok := h.jobs.get(id); ok {
		if reported {
			h.markReported(id, s)
		}
		return s
	}
	s := &jobSummary{JobID: id, Res: res, BusinessKey: businessKey, Created: now.UnixNano(), Updated: now.UnixNano()}
	if e, ok := h.entities.get(id); ok && e.Type == semconv.EntityTypeJob {
		reported = true
	}
	if flags, ok := h.evicted.lookup(hashID(id)); ok {
		s.Incomplete = true
		reported = reported || flags&evictedReported != 0
		if flags&evictedPassed != 0 {
			s.Passed, s.PassedAt = true, now.UnixNano()
		}
	}
	class := classOrphan
	if reported {
		s.Known, class = true, classReported
	}
	for _, ev := range h.jobs.put(id, s, class) {
		h.forgetSummary(ev, reasonMaxJobSummaries)
	}
	return s
}

// markReported moves a summary to the class of jobs that reported.
func (h *hierarchy) markReported(id string, s *jobSummary) {
	if !s.Known {
		s.Known = true
		h.jobs.setClass(id, classReported)
	}
}

// forgetSummary accounts for a summary dropped to make room: it is counted
// and remembered, so the job's roll-ups say they are incomplete if the job
// comes back. Called with h.mu held.
func (h *hierarchy) forgetSummary(ev evictedRow[*jobSummary], reason string) {
	delete(h.lateJobs, ev.key)
	h.idCount -= ev.val.ids.len()
	var flags uint8
	if ev.class == classReported {
		flags |= evictedReported
	}
	if ev.val.Passed {
		flags |= evictedPassed
	}
	h.evicted.remember(evictedEntry{hash: hashID(ev.key), flags: flags})
	h.telemetry.ProcessorJobhierarchyEvictions.Add(h.ctx, 1, evictionAttrs("job_summaries", reason, summaryClassNames[ev.class]))
}

// addSubjob folds a subjob span into its job's summary, once per subjob id
// whatever the copies; a subjob whose job's span already passed is marked
// late. Called with h.mu held.
func (h *hierarchy) addSubjob(span ptrace.Span, id, parent string, res entity.Resource, now time.Time) {
	s := h.summaryFor(parent, res, "", now, false)
	h.keepJobIDOriginal(parent, s, entity.Of(span.Attributes()).ParentIDOriginal())
	if s.Passed {
		span.Attributes().PutBool(semconv.AttrSubjobLate, true)
	}
	hash := hashID(id)
	if !s.ids.add(hash) {
		return // counted before: a retry, or the same subjob by another path
	}
	h.idCount++
	if h.client != nil {
		s.unsaved = append(s.unsaved, hash)
	}
	s.addSubjob(span)
	s.Updated = now.UnixNano()
	if s.Passed {
		s.Late++
		s.PendingLate++
		h.lateJobs[parent] = struct{}{}
		h.telemetry.ProcessorJobhierarchyLateSubjobs.Add(h.ctx, 1)
	}
	h.jobs.touch(parent)
	for h.idCount > h.cfg.MaxSubjobIDs && h.jobs.len() > 0 {
		h.forgetSummary(h.jobs.evictOne(), reasonMaxSubjobIDs)
	}
}

// passJob annotates a job span with its roll-ups and outcome and remembers
// that the job passed. Called with h.mu held.
func (h *hierarchy) passJob(span ptrace.Span, id string, res entity.Resource, now time.Time) {
	v := entity.Of(span.Attributes())
	s := h.summaryFor(id, res, v.BusinessKey(), now, true)
	if n, ok := v.ExpectedSubjobs(); ok {
		s.setExpected(n)
	}
	if bk := v.BusinessKey(); bk != "" {
		s.BusinessKey = bk
	}
	h.keepJobIDOriginal(id, s, v.IDOriginal())
	s.Res = res
	s.OwnOutcome = annotateJob(h.cfg.Outcome, span, s)
	s.OwnStatus = v.Status()
	h.schedules.observeJobSpan(span, id, res, now)
	if !s.Passed {
		s.Passed = true
		s.PassedAt = now.UnixNano()
	}
	s.Updated = now.UnixNano()
	h.jobs.touch(id)
	h.telemetry.ProcessorJobhierarchyJobsRolledUp.Add(h.ctx, 1, metric.WithAttributeSet(attribute.NewSet(attribute.String(semconv.AttrJobOutcome, v.JobOutcome()))))
}

// keepJobIDOriginal remembers the job id a client sent, when it was not a
// UUID, so that the processor's own events about the job carry it.
func (h *hierarchy) keepJobIDOriginal(id string, s *jobSummary, original string) {
	if original != "" && s.JobIDOriginal != original {
		s.JobIDOriginal = original
		h.jobs.markDirty(id)
	}
}

// ref names a job the processor reports on from its summary.
func (s *jobSummary) ref() entity.Ref {
	return entity.Ref{Type: semconv.EntityTypeJob, ID: s.JobID, BusinessKey: s.BusinessKey, IDOriginal: s.JobIDOriginal}
}

func (h *hierarchy) reportOrphans(s *jobSummary, now time.Time, em *emitter) {
	lr := em.event(s.Res, s.ref(), semconv.KindOrphanSubjobs, statusUnknown, now)
	lr.Body().SetStr(fmt.Sprintf("job %s orphan_subjobs: %d subjobs arrived but their job did not within %s", s.JobID, s.Total, h.cfg.OrphanTimeout))
	entity.Of(lr.Attributes()).PutRollups(s.rollups())
	h.telemetry.ProcessorJobhierarchyOrphanSubjobs.Add(h.ctx, s.Total)
}

// flushLate emits one follow-up event per job that received late subjobs
// since the last check, with the job's updated roll-ups and outcome. Called
// with h.mu held.
func (h *hierarchy) flushLate(now time.Time, em *emitter) {
	for id := range h.lateJobs {
		s, ok := h.jobs.get(id)
		if !ok || s.PendingLate == 0 {
			continue
		}
		status := s.OwnStatus
		if status == "" {
			status = statusUnknown
		}
		lr := em.event(s.Res, s.ref(), semconv.KindLateSubjobs, status, now)
		lr.Body().SetStr(fmt.Sprintf("job %s late_subjobs: %d subjobs arrived after the job ended", s.JobID, s.PendingLate))
		v := entity.Of(lr.Attributes())
		v.PutRollups(s.rollups())
		// A summary made again after an eviction does not know the job's
		// own outcome: only failed subjobs decide one then.
		outcome, _ := decide(h.cfg.Outcome, s.OwnOutcome, s)
		v.PutJobOutcome(outcome)
		s.PendingLate = 0
		h.jobs.markDirty(id)
	}
	clear(h.lateJobs)
}

// statusUnknown is the status of a job the processor has no report of.
const statusUnknown = "unknown"
