package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

// A snapshot is split into chunks by the hash of the entries' keys, so that
// each chunk can be encoded from the live state on its own, at any time: a
// snapshot is written a few chunks a check, at the pace of the journal,
// rather than all at once (see persist.go).

// snapshotChunkBytes is about how large a snapshot chunk is.
const snapshotChunkBytes = 16 << 10

// chunkOf places a hash in one of n chunks.
func chunkOf(hash uint64, n int) int { return int(((hash >> 32) * uint64(n)) >> 32) } //nolint:gosec // n is small and positive

// chunkCount is how many chunks a snapshot of the current state takes.
// Called with h.mu held.
func (h *hierarchy) chunkCount() int {
	est := h.entities.len()*120 + h.jobs.len()*160 + h.idCount*8 + h.evicted.len()*9
	return min(max(est/snapshotChunkBytes, 1), 1<<14)
}

// chunkRows are the rows of every chunk of a snapshot being written, and
// the evicted jobs of each, taken in one walk over the state when the
// snapshot begins, so that a check that encodes chunks walks nothing. An
// entry added since is in the journal entries replayed over the snapshot,
// as is one whose row left its table (skipped) or an evicted job no longer
// remembered (skipped).
type chunkRows struct {
	entities [][]*row[*openEntity]
	jobs     [][]*row[*jobSummary]
	evicted  [][]uint64
}

// takeChunkRows takes the rows of the n chunks of a snapshot. Called with
// h.mu held.
func (h *hierarchy) takeChunkRows(n int) *chunkRows {
	c := &chunkRows{entities: make([][]*row[*openEntity], n), jobs: make([][]*row[*jobSummary], n), evicted: make([][]uint64, n)}
	h.entities.eachRow(func(r *row[*openEntity]) {
		i := chunkOf(r.hash, n)
		c.entities[i] = append(c.entities[i], r)
	})
	h.jobs.eachRow(func(r *row[*jobSummary]) {
		i := chunkOf(r.hash, n)
		c.jobs[i] = append(c.jobs[i], r)
	})
	for hash := range h.evicted.set {
		i := chunkOf(hash, n)
		c.evicted[i] = append(c.evicted[i], hash)
	}
	return c
}

// release lets the rows of an encoded chunk go.
func (c *chunkRows) release(i int) {
	c.entities[i], c.jobs[i], c.evicted[i] = nil, nil, nil
}

// encodeChunk encodes chunk i from the rows taken for it, with their
// current values; rows whose entry left the table since are skipped, and
// entries added since are in the journal (persist.go). Called with h.mu
// held.
func (h *hierarchy) encodeChunk(gen uint64, i int, rows *chunkRows, now int64) []byte {
	b := &stateBatch{gen: gen, writtenAt: now}
	for _, r := range rows.entities[i] {
		if !r.gone {
			b.addEntity(r.val, r.class)
		}
	}
	for _, r := range rows.jobs[i] {
		if !r.gone {
			b.addSummary(r.val, r.class, true, r.val.ids.all())
		}
	}
	for _, hash := range rows.evicted[i] {
		if flags, ok := h.evicted.lookup(hash); ok {
			b.evicted = append(b.evicted, evictedEntry{hash: hash, flags: flags})
		}
	}
	return h.enc.encode(b)
}

// snapshotAll encodes the whole state in n chunks, in one pass, and takes
// every change as written: the snapshot replaces the journal. Called with
// h.mu held.
func (h *hierarchy) snapshotAll(gen uint64, n int, now int64) [][]byte {
	batches := make([]*stateBatch, n)
	for i := range batches {
		batches[i] = &stateBatch{gen: gen, writtenAt: now}
	}
	h.entities.eachRow(func(r *row[*openEntity]) {
		batches[chunkOf(r.hash, n)].addEntity(r.val, r.class)
	})
	h.jobs.eachRow(func(r *row[*jobSummary]) {
		batches[chunkOf(r.hash, n)].addSummary(r.val, r.class, true, r.val.ids.all())
		r.val.unsaved, r.val.saved = nil, true
	})
	for _, e := range h.evicted.all() {
		b := batches[chunkOf(e.hash, n)]
		b.evicted = append(b.evicted, e)
	}
	h.entities.takeDirty()
	h.jobs.takeDirty()
	h.evicted.takeAdded()
	parts := make([][]byte, n)
	for i, b := range batches {
		parts[i] = h.enc.encode(b)
	}
	return parts
}

// journalPieceBytes is about how large a stored journal entry is: the
// changes of one check are split into entries of about this size, so that
// a check appends small values to bbolt, whose pages rewrite a neighbouring
// value along with a new one.
const journalPieceBytes = 16 << 10

// journalBatches takes the changes since the last checkpoint, in entries of
// about journalPieceBytes numbered from seq; there is always one. Called
// with h.mu held.
func (h *hierarchy) journalBatches(now int64, seq uint64) []*stateBatch {
	b := &stateBatch{seq: seq, writtenAt: now}
	out := []*stateBatch{b}
	size := 0
	grow := func(n int) {
		if size += n; size >= journalPieceBytes {
			seq++
			b, size = &stateBatch{seq: seq, writtenAt: now}, 0
			out = append(out, b)
		}
	}
	for id := range h.entities.takeDirty() {
		if e, ok := h.entities.get(id); ok {
			b.addEntity(e, h.entities.classOf(id))
			grow(40 + len(e.ID) + len(e.ParentID) + len(e.BusinessKey) + len(e.SubKey))
		} else {
			b.removedEntity = append(b.removedEntity, id)
			grow(1 + len(id))
		}
	}
	for id := range h.jobs.takeDirty() {
		s, ok := h.jobs.get(id)
		if !ok {
			b.removedJob = append(b.removedJob, id)
			grow(1 + len(id))
			continue
		}
		ids := s.unsaved
		if !s.saved {
			ids = s.ids.all()
		}
		b.addSummary(s, h.jobs.classOf(id), !s.saved, ids)
		s.unsaved, s.saved = nil, true
		grow(100 + len(id) + len(s.BusinessKey) + 8*len(ids))
	}
	for _, e := range h.evicted.takeAdded() {
		b.evicted = append(b.evicted, e)
		grow(9)
	}
	if len(out) > 1 && size == 0 {
		out = out[:len(out)-1] // the last one is empty
	}
	return out
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
