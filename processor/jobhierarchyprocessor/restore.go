package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// restoreReadAhead is how many snapshot chunks or journal entries one
// storage call reads.
const restoreReadAhead = 64

// restoredState collects the stored parts before they are installed.
type restoredState struct {
	entities    map[string]*openEntity
	entityClass map[string]int
	jobs        map[string]*jobSummary
	jobClass    map[string]int
	evicted     []evictedEntry
	// lastAlive is the latest time the processor is known to have run
	// (Unix nanoseconds), 0 when unknown.
	lastAlive int64
}

func newRestoredState() *restoredState {
	return &restoredState{
		entities: map[string]*openEntity{}, entityClass: map[string]int{},
		jobs: map[string]*jobSummary{}, jobClass: map[string]int{},
	}
}

// apply replays one stored part.
func (st *restoredState) apply(b *stateBatch) {
	st.lastAlive = max(st.lastAlive, b.writtenAt)
	for i, e := range b.entities {
		st.entities[e.ID] = e
		st.entityClass[e.ID] = b.entityClasses[i]
	}
	for _, id := range b.removedEntity {
		delete(st.entities, id)
		delete(st.entityClass, id)
	}
	for i, s := range b.summaries {
		if old, ok := st.jobs[s.JobID]; ok && !b.replaceSummary[i] {
			ids := old.ids
			*old = *s
			old.ids = ids
			s = old
		}
		for _, h := range b.newIDs[i] {
			s.ids.add(h)
		}
		st.jobs[s.JobID] = s
		st.jobClass[s.JobID] = b.summaryCls[i]
	}
	for _, id := range b.removedJob {
		delete(st.jobs, id)
		delete(st.jobClass, id)
	}
	st.evicted = append(st.evicted, b.evicted...)
}

// restore reads the stored state: the snapshot the index names, then the
// journal entries after it, in order. A part that cannot be decoded is logged
// and skipped, so a damaged file costs that part, not the start. When no
// state of the current format is stored, the first format is read instead.
func (h *hierarchy) restore(ctx context.Context) error {
	idx, err := h.client.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("storage: reading the job hierarchy state: %w", err)
	}
	st := newRestoredState()
	c := &h.store
	c.needSnapshot = true // the restored state, moved on by the downtime, is written anew
	if idx == nil {
		legacy, err := h.readLegacy(ctx, st)
		if err != nil {
			return err
		}
		if legacy {
			c.stale = legacyKeys()
		}
	} else if err := json.Unmarshal(idx, &c.index); err != nil {
		h.logger.Warn("Skipping the damaged index of the stored job hierarchy state; starting empty", zap.String("key", stateKey), zap.Error(err))
		idx = nil
	} else if err := h.readParts(ctx, st); err != nil {
		return err
	}
	if idx == nil {
		// No index to go by: parts of an earlier state may still be
		// stored, under numbers that cannot be known. The new state's
		// numbers start from the clock, far from any of them.
		start := uint64(max(h.now().UnixNano(), 1)) //nolint:gosec // positive
		c.index = stateIndex{Gen: start, From: start}
		c.next, c.lastGen = start, start
	}
	h.install(st)
	return nil
}

// readParts reads the snapshot's chunks, then journal entries until the
// first one missing.
func (h *hierarchy) readParts(ctx context.Context, st *restoredState) error {
	c := &h.store
	stored := 0 // chunks up to the last one stored
	defer func() { c.index.Chunks = stored }()
	for first := 0; first < c.index.Chunks; first += restoreReadAhead {
		keys := make([]string, 0, restoreReadAhead)
		for i := first; i < min(first+restoreReadAhead, c.index.Chunks); i++ {
			keys = append(keys, snapshotKey(c.index.Gen, i))
		}
		values, err := h.getAll(ctx, keys)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(values, func(v []byte) bool { return v != nil }) {
			// Chunks are written in one transaction: a damaged index.
			h.logger.Warn("The stored job hierarchy state names snapshot parts that are not stored", zap.String("key", keys[0]), zap.Int("chunks", c.index.Chunks))
			break
		}
		for i, v := range values {
			h.applyPart(st, keys[i], v, true, c.index.Gen, 0)
			if v != nil {
				stored = first + i + 1
			}
		}
	}
	// Chunks of a snapshot that a stop interrupted go with the next one.
	c.lastGen = c.index.Gen + 1
	for first := 0; ; first += restoreReadAhead {
		keys := make([]string, restoreReadAhead)
		for i := range keys {
			keys[i] = snapshotKey(c.index.Gen+1, first+i)
		}
		values, err := h.getAll(ctx, keys)
		if err != nil {
			return err
		}
		for i, v := range values {
			if v != nil {
				c.stale = append(c.stale, keys[i])
			}
		}
		if slices.ContainsFunc(values, func(v []byte) bool { return v == nil }) {
			break
		}
	}
	c.next = c.index.From
	for {
		keys := make([]string, 0, restoreReadAhead)
		for seq := c.next; len(keys) < restoreReadAhead; seq++ {
			keys = append(keys, journalKey(seq))
		}
		values, err := h.getAll(ctx, keys)
		if err != nil {
			return err
		}
		for i, v := range values {
			if v == nil || !h.applyPart(st, keys[i], v, false, 0, c.next) {
				return nil
			}
			c.next++
		}
	}
}

func (h *hierarchy) getAll(ctx context.Context, keys []string) ([][]byte, error) {
	ops := make([]*storage.Operation, len(keys))
	for i, k := range keys {
		ops[i] = storage.GetOperation(k)
	}
	if err := h.client.Batch(ctx, ops...); err != nil {
		return nil, fmt.Errorf("storage: reading the job hierarchy state: %w", err)
	}
	values := make([][]byte, len(ops))
	for i, op := range ops {
		values[i] = op.Value
	}
	return values, nil
}

// applyPart decodes and applies one part; a part stored under another
// part's key ends the journal: false.
func (h *hierarchy) applyPart(st *restoredState, key string, data []byte, chunk bool, gen, seq uint64) bool {
	if data == nil {
		h.logger.Warn("A part of the stored job hierarchy state is missing", zap.String("key", key))
		return true
	}
	b, err := decodeBatch(data)
	if err != nil {
		h.logger.Warn("Skipping a damaged part of the stored job hierarchy state", zap.String("key", key), zap.Error(err))
		return true
	}
	if (chunk && b.gen != gen) || b.seq != seq {
		h.logger.Warn("A part of the stored job hierarchy state is not the part its key names", zap.String("key", key))
		return false
	}
	st.apply(b)
	return true
}

// install puts the restored state in place. The time the collector was down
// (from the last stored part to now) does not count as silence, nor towards
// any of the processor's timeouts: every time the watchdog and the summaries
// measure from moves on by it.
func (h *hierarchy) install(st *restoredState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now().UnixNano()
	var down int64
	if st.lastAlive > 0 && now > st.lastAlive {
		down = now - st.lastAlive
	}
	entities := make([]*openEntity, 0, len(st.entities))
	for _, e := range st.entities {
		e.LastSeen += down
		e.Down += down
		entities = append(entities, e)
	}
	jobs := make([]*jobSummary, 0, len(st.jobs))
	for _, s := range st.jobs {
		s.Updated += down
		if s.Passed {
			s.PassedAt += down
		}
		s.saved = true
		jobs = append(jobs, s)
	}
	// Least recent first, so the tables' eviction order is restored too;
	// entries of the same time by key, so that a state restores the same
	// way every time.
	slices.SortFunc(entities, func(a, b *openEntity) int {
		return cmp.Or(cmp.Compare(a.LastSeen, b.LastSeen), strings.Compare(a.ID, b.ID))
	})
	slices.SortFunc(jobs, func(a, b *jobSummary) int {
		return cmp.Or(cmp.Compare(a.Updated, b.Updated), strings.Compare(a.JobID, b.JobID))
	})
	for _, e := range st.evicted {
		h.evicted.restore(e)
	}
	for _, e := range entities {
		h.putEntity(e, st.entityClass[e.ID])
	}
	for _, s := range jobs {
		h.idCount += s.ids.len()
		for _, ev := range h.jobs.put(s.JobID, s, st.jobClass[s.JobID]) {
			h.forgetSummary(ev, reasonMaxJobSummaries)
		}
		if s.PendingLate > 0 {
			h.lateJobs[s.JobID] = struct{}{}
		}
	}
	for h.idCount > h.cfg.MaxSubjobIDs && h.jobs.len() > 0 {
		h.forgetSummary(h.jobs.evictOne(), reasonMaxSubjobIDs)
	}
	h.entities.takeDirty()
	h.jobs.takeDirty()
	h.evicted.takeAdded()
	h.syncCounts()
	h.logger.Info("Restored the job hierarchy state",
		zap.Int("open_entities", h.entities.len()), zap.Int("job_summaries", h.jobs.len()),
		zap.Duration("downtime_not_counted", time.Duration(down)))
}
