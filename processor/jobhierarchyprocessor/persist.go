package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The state is stored in numBuckets parts per table, under fixed keys, so it
// can be read back without listing keys (storage.Client cannot) and only
// the parts that changed are written at each check. The key prefix names
// the format.
func entitiesKey(b int) string { return fmt.Sprintf("v1/entities/%02d", b) }
func jobsKey(b int) string     { return fmt.Sprintf("v1/jobs/%02d", b) }

func storageClient(ctx context.Context, host component.Host, id, owner component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not configured; add it under extensions and service::extensions", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension (use e.g. file_storage)", id)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, owner, "")
	if err != nil {
		return nil, fmt.Errorf("storage: getting a client from %q: %w", id, err)
	}
	return client, nil
}

// restore reads the stored state. A part that cannot be decoded is logged
// and skipped, so a damaged file costs that part, not the start.
func (h *hierarchy) restore(ctx context.Context) error {
	ops := make([]*storage.Operation, 0, 2*numBuckets)
	for b := 0; b < numBuckets; b++ {
		ops = append(ops, storage.GetOperation(entitiesKey(b)), storage.GetOperation(jobsKey(b)))
	}
	if err := h.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("storage: reading the job hierarchy state: %w", err)
	}
	var entities []*openEntity
	var jobs []*jobSummary
	for _, op := range ops {
		if op.Value == nil {
			continue
		}
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
	// A null entry in a damaged part would decode as nil.
	entities = slices.DeleteFunc(entities, func(e *openEntity) bool {
		return e == nil || e.ID == "" || (e.Type != semconv.EntityTypeJob && e.Type != semconv.EntityTypeSubjob)
	})
	jobs = slices.DeleteFunc(jobs, func(s *jobSummary) bool { return s == nil || s.JobID == "" })
	// Least recent first, so the tables' eviction order is restored too.
	sort.Slice(entities, func(i, j int) bool { return entities[i].LastSeen < entities[j].LastSeen })
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Updated < jobs[j].Updated })
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entities {
		h.entities.put(e.ID, e)
	}
	for _, s := range jobs {
		h.jobs.put(s.JobID, s)
		if s.PendingLate > 0 {
			h.lateJobs[s.JobID] = struct{}{}
		}
	}
	h.entities.takeDirty()
	h.jobs.takeDirty()
	h.syncCounts()
	h.logger.Info("Restored the job hierarchy state", zap.Int("open_entities", h.entities.len()), zap.Int("job_summaries", h.jobs.len()))
	return nil
}

// checkpoint writes the parts of the state that changed since the last one.
func (h *hierarchy) checkpoint(ctx context.Context) error {
	if h.client == nil {
		return nil
	}
	h.mu.Lock()
	ents, jobs := h.entities.takeDirty(), h.jobs.takeDirty()
	ops := make([]*storage.Operation, 0, len(ents)+len(jobs))
	var entBuckets, jobBuckets []int
	var err error
	for b, vals := range ents {
		entBuckets = append(entBuckets, b)
		ops = append(ops, partOp(entitiesKey(b), vals, &err))
	}
	for b, vals := range jobs {
		jobBuckets = append(jobBuckets, b)
		ops = append(ops, partOp(jobsKey(b), vals, &err))
	}
	h.mu.Unlock()
	if err == nil && len(ops) > 0 {
		err = h.client.Batch(ctx, ops...)
	}
	if err != nil {
		h.mu.Lock()
		h.entities.markDirty(entBuckets)
		h.jobs.markDirty(jobBuckets)
		h.mu.Unlock()
		return fmt.Errorf("storage: writing the job hierarchy state: %w", err)
	}
	return nil
}

// partOp encodes one part; an empty part is deleted.
func partOp[V any](key string, vals []V, errp *error) *storage.Operation {
	if len(vals) == 0 {
		return storage.DeleteOperation(key)
	}
	data, err := json.Marshal(vals)
	if err != nil && *errp == nil {
		*errp = err
	}
	return storage.SetOperation(key, data)
}
