package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The first storage format kept each table in legacyBuckets JSON arrays
// under fixed keys, rewritten whole whenever one of their entries changed.
// It is read once, when no state of the current format is stored, and
// deleted by the first snapshot written after it.
const legacyBuckets = 64

func legacyEntitiesKey(b int) string { return fmt.Sprintf("v1/entities/%02d", b) }
func legacyJobsKey(b int) string     { return fmt.Sprintf("v1/jobs/%02d", b) }

// legacyKeys are every key of the first format.
func legacyKeys() []string {
	keys := make([]string, 0, 2*legacyBuckets)
	for b := 0; b < legacyBuckets; b++ {
		keys = append(keys, legacyEntitiesKey(b), legacyJobsKey(b))
	}
	return keys
}

// readLegacy reads the state in the first format into st and reports
// whether any of it was stored. A part that cannot be decoded is logged and
// skipped.
func (h *hierarchy) readLegacy(ctx context.Context, st *restoredState) (bool, error) {
	keys := legacyKeys()
	ops := make([]*storage.Operation, len(keys))
	for i, k := range keys {
		ops[i] = storage.GetOperation(k)
	}
	if err := h.client.Batch(ctx, ops...); err != nil {
		return false, fmt.Errorf("storage: reading the job hierarchy state: %w", err)
	}
	found := false
	var entities []*openEntity
	var jobs []*jobSummary
	for _, op := range ops {
		if op.Value == nil {
			continue
		}
		found = true
		var err error
		if op.Key[3] == 'e' { // v1/entities/...
			var part []*openEntity
			err = json.Unmarshal(op.Value, &part)
			entities = append(entities, part...)
		} else {
			var part []*jobSummary
			err = json.Unmarshal(op.Value, &part)
			jobs = append(jobs, part...)
		}
		if err != nil {
			h.logger.Warn("Skipping a damaged part of the stored job hierarchy state", zap.String("key", op.Key), zap.Error(err))
		}
	}
	// The first format kept no time of writing: the latest time in it is
	// the earliest the processor can have stopped.
	for _, e := range entities {
		if e == nil || e.ID == "" || (e.Type != semconv.EntityTypeJob && e.Type != semconv.EntityTypeSubjob) {
			continue // a null entry in a damaged part decodes as nil
		}
		st.entities[e.ID] = e
		st.lastAlive = max(st.lastAlive, e.LastSeen)
	}
	for _, e := range st.entities {
		st.entityClass[e.ID] = legacyEntityClass(e, st)
	}
	for _, s := range jobs {
		if s == nil || s.JobID == "" {
			continue
		}
		parent, open := st.entities[s.JobID]
		s.Known = s.Passed || (open && parent.Type == semconv.EntityTypeJob)
		st.jobs[s.JobID] = s
		st.jobClass[s.JobID] = classOrphan
		if s.Known {
			st.jobClass[s.JobID] = classReported
		}
		st.lastAlive = max(st.lastAlive, s.Updated, s.PassedAt)
	}
	return found, nil
}

func legacyEntityClass(e *openEntity, st *restoredState) int {
	if e.Type == semconv.EntityTypeJob {
		return classJob
	}
	if p, ok := st.entities[e.ParentID]; ok && p.Type == semconv.EntityTypeJob {
		return classSubjob
	}
	return classOrphanSubjob
}
