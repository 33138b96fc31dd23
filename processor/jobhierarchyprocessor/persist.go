package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// The state is stored as a snapshot in chunks plus a journal of the changes
// since, one entry per checkpoint, under keys that can be read back without
// listing (storage.Client cannot list): an index names the snapshot and the
// first journal entry, and the journal is read until the first entry that is
// missing. A checkpoint writes one journal entry with what changed since the
// last one; once the journal holds as much as the snapshot, the next
// checkpoint writes a new snapshot and drops the journal, in one
// transaction. The key names sort snapshot, index, journal, so that a
// journal entry, appended at the end of the key space, is never stored in
// the same bbolt page as a large snapshot chunk.
const (
	stateKey = "v2/state"
	// snapshotChunkBytes is about how large a snapshot chunk is: a damaged
	// chunk costs its entries only.
	snapshotChunkBytes = 64 << 10
	// minJournalBytes is the journal size below which no snapshot is written
	// however small the snapshot is.
	minJournalBytes = 1 << 20
	// maxJournalEntries bounds the entries read back at a restart.
	maxJournalEntries = 4096
	// heartbeatInterval is how often a checkpoint is written while entities
	// are open and nothing changed, so that the time the collector went down
	// is known to within it after a crash.
	heartbeatInterval = 30 * time.Second
)

func snapshotKey(gen uint64, chunk int) string {
	return fmt.Sprintf("v2/snapshot/%016x/%06d", gen, chunk)
}

func journalKey(seq uint64) string { return fmt.Sprintf("v2/update/%016x", seq) }

// stateIndex is the stored index (JSON under stateKey).
type stateIndex struct {
	// Gen numbers the snapshot, Chunks is how many parts it has.
	Gen    uint64 `json:"gen"`
	Chunks int    `json:"chunks"`
	// From is the first journal entry written after the snapshot.
	From uint64 `json:"from"`
}

// checkpointer is where the stored state stands.
type checkpointer struct {
	index stateIndex
	// next is the journal entry the next checkpoint writes.
	next           uint64
	journalBytes   int
	journalEntries int
	snapshotBytes  int
	lastWrite      time.Time
	// needSnapshot is set after a restore and after a failed write: the next
	// checkpoint writes everything.
	needSnapshot bool
	// legacy is set while keys of the first format are stored.
	legacy bool
}

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

// checkpoint writes what changed since the last checkpoint, as one journal
// entry, or the whole state when a snapshot is due. final writes even when
// nothing changed, so the time of the stop is stored.
func (h *hierarchy) checkpoint(ctx context.Context, final bool) error {
	if h.client == nil {
		return nil
	}
	h.storeMu.Lock()
	defer h.storeMu.Unlock()
	c := &h.store
	h.mu.Lock()
	now := h.now()
	var ops []*storage.Operation
	var written, chunks int
	snapshot := c.needSnapshot || c.journalEntries >= maxJournalEntries || c.journalBytes >= max(c.snapshotBytes, minJournalBytes)
	if snapshot {
		parts := h.snapshotParts(now.UnixNano(), c.index.Gen+1)
		chunks = len(parts)
		for i, p := range parts {
			ops = append(ops, storage.SetOperation(snapshotKey(c.index.Gen+1, i), p))
			written += len(p)
		}
		idx, _ := json.Marshal(stateIndex{Gen: c.index.Gen + 1, Chunks: chunks, From: c.next})
		ops = append(ops, storage.SetOperation(stateKey, idx))
		for i := 0; i < c.index.Chunks; i++ {
			ops = append(ops, storage.DeleteOperation(snapshotKey(c.index.Gen, i)))
		}
		// The journal, and the entry a failed write may have left at next.
		for seq := c.index.From; ; seq++ {
			ops = append(ops, storage.DeleteOperation(journalKey(seq)))
			if seq == c.next {
				break
			}
		}
		if c.legacy {
			for _, k := range legacyKeys() {
				ops = append(ops, storage.DeleteOperation(k))
			}
		}
	} else if h.changed() || final || (h.entities.len() > 0 && now.Sub(c.lastWrite) >= max(heartbeatInterval, h.cfg.CheckInterval)) {
		entry := encodeBatch(h.journalBatch(now.UnixNano(), c.index.Gen, c.next))
		ops = append(ops, storage.SetOperation(journalKey(c.next), entry))
		written = len(entry)
	}
	h.mu.Unlock()
	if len(ops) == 0 {
		return nil
	}
	if err := h.client.Batch(ctx, ops...); err != nil {
		// The changes taken for this write are in no later journal entry:
		// the next checkpoint writes everything.
		c.needSnapshot = true
		return fmt.Errorf("storage: writing the job hierarchy state: %w", err)
	}
	c.lastWrite = now
	if snapshot {
		c.index = stateIndex{Gen: c.index.Gen + 1, Chunks: chunks, From: c.next}
		c.snapshotBytes, c.journalBytes, c.journalEntries = written, 0, 0
		c.needSnapshot, c.legacy = false, false
		return nil
	}
	c.next++
	c.journalBytes += written
	c.journalEntries++
	return nil
}

// changed reports whether anything was changed since the last checkpoint.
// Called with h.mu held.
func (h *hierarchy) changed() bool {
	return h.entities.dirtyCount() > 0 || h.jobs.dirtyCount() > 0 || len(h.evicted.added) > 0
}

// journalBatch takes the changes since the last checkpoint. Called with
// h.mu held.
func (h *hierarchy) journalBatch(now int64, gen, seq uint64) *stateBatch {
	b := &stateBatch{gen: gen, seq: seq, writtenAt: now}
	for id := range h.entities.takeDirty() {
		if e, ok := h.entities.get(id); ok {
			b.addEntity(e, h.entities.classOf(id))
		} else {
			b.removedEntity = append(b.removedEntity, id)
		}
	}
	for id := range h.jobs.takeDirty() {
		s, ok := h.jobs.get(id)
		if !ok {
			b.removedJob = append(b.removedJob, id)
			continue
		}
		ids := s.unsaved
		if !s.saved {
			ids = s.ids.appendTo(nil)
		}
		b.addSummary(s, h.jobs.classOf(id), !s.saved, ids)
		s.unsaved, s.saved = nil, true
	}
	b.evicted = h.evicted.takeAdded()
	return b
}

// snapshotParts encodes the whole state in chunks of about
// snapshotChunkBytes, and takes every change as written. Called with h.mu
// held.
func (h *hierarchy) snapshotParts(now int64, gen uint64) [][]byte {
	var parts [][]byte
	b, size := &stateBatch{gen: gen, writtenAt: now}, 0
	cut := func(force bool) {
		if size >= snapshotChunkBytes || (force && size > 0) {
			parts = append(parts, encodeBatch(b))
			b, size = &stateBatch{gen: gen, writtenAt: now}, 0
		}
	}
	h.entities.each(func(id string, e *openEntity) {
		b.addEntity(e, h.entities.classOf(id))
		size += 64 + len(e.ID) + len(e.ParentID) + len(e.BusinessKey) + len(e.SubKey)
		cut(false)
	})
	h.jobs.each(func(id string, s *jobSummary) {
		b.addSummary(s, h.jobs.classOf(id), true, s.ids.appendTo(nil))
		size += 160 + len(s.JobID) + 8*s.ids.len()
		s.unsaved, s.saved = nil, true
		cut(false)
	})
	for _, e := range h.evicted.all() {
		b.evicted = append(b.evicted, e)
		size += 9
		cut(false)
	}
	cut(true)
	if len(parts) == 0 {
		// An empty state still stores its time.
		parts = append(parts, encodeBatch(b))
	}
	h.entities.takeDirty()
	h.jobs.takeDirty()
	h.evicted.takeAdded()
	return parts
}

func (b *stateBatch) addEntity(e *openEntity, class int) {
	b.entities = append(b.entities, e)
	b.entityClasses = append(b.entityClasses, class)
}

func (b *stateBatch) addSummary(s *jobSummary, class int, replace bool, ids []uint64) {
	b.summaries = append(b.summaries, s)
	b.summaryCls = append(b.summaryCls, class)
	b.replaceSummary = append(b.replaceSummary, replace)
	b.newIDs = append(b.newIDs, ids)
}
