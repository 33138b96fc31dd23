package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

// Flags kept about an evicted summary.
const (
	// evictedReported: the job had reported itself (summary class
	// classReported), so it is remembered apart from orphan noise.
	evictedReported = 1 << iota
	// evictedPassed: the job's span had passed; subjobs that come later are
	// late subjobs of an ended job.
	evictedPassed
)

// evictedEntry is one job whose summary was dropped to make room.
type evictedEntry struct {
	hash  uint64
	flags uint8
}

// evictedJobs remembers the jobs whose summary was dropped to make room,
// so that a summary made again for one of them is marked incomplete
// (wafer.job.rollup_complete=false) instead of passing for the whole job.
// It holds up to max jobs of each kind (9 bytes and a map entry each), the
// most recently evicted; jobs that had reported themselves are remembered
// apart, so that a flood of orphan subjobs cannot push them out.
type evictedJobs struct {
	max   int
	rings [2]evictedRing
	set   map[uint64]uint8
	// added since the last checkpoint took them, while track is set (state
	// is stored).
	added []evictedEntry
	track bool
}

// evictedRing is a FIFO of hashes, grown up to max and then overwritten.
type evictedRing struct {
	buf  []uint64
	next int
}

func newEvictedJobs(maxPerKind int) *evictedJobs {
	return &evictedJobs{max: maxPerKind, set: map[uint64]uint8{}}
}

func ringOf(flags uint8) int {
	if flags&evictedReported != 0 {
		return 1
	}
	return 0
}

// remember records an evicted job.
func (m *evictedJobs) remember(e evictedEntry) {
	if m.track {
		m.added = append(m.added, e)
	}
	m.restore(e)
}

// restore records an evicted job without noting it for the next checkpoint.
func (m *evictedJobs) restore(e evictedEntry) {
	if m.max <= 0 {
		return
	}
	old, known := m.set[e.hash]
	m.set[e.hash] = e.flags
	if known && ringOf(old) == ringOf(e.flags) {
		return // keeps its place in the ring
	}
	r := &m.rings[ringOf(e.flags)]
	if len(r.buf) < m.max {
		r.buf = append(r.buf, e.hash)
		return
	}
	gone := r.buf[r.next]
	r.buf[r.next] = e.hash
	r.next = (r.next + 1) % m.max
	// The oldest goes, unless it was evicted again since, as the other kind.
	if flags, ok := m.set[gone]; ok && gone != e.hash && ringOf(flags) == ringOf(e.flags) {
		delete(m.set, gone)
	}
}

// lookup reports whether a job's summary was evicted, with its flags.
func (m *evictedJobs) lookup(hash uint64) (uint8, bool) {
	f, ok := m.set[hash]
	return f, ok
}

func (m *evictedJobs) len() int { return len(m.set) }

// all returns every remembered job, oldest first within each kind, so that
// restoring them in order rebuilds the rings.
func (m *evictedJobs) all() []evictedEntry {
	out := make([]evictedEntry, 0, len(m.set))
	for i := range m.rings {
		r := &m.rings[i]
		n := len(r.buf)
		for k := 0; k < n; k++ {
			h := r.buf[(r.next+k)%n]
			if f, ok := m.set[h]; ok && ringOf(f) == i {
				out = append(out, evictedEntry{hash: h, flags: f})
			}
		}
	}
	return out
}

// takeAdded returns the jobs remembered since the last call.
func (m *evictedJobs) takeAdded() []evictedEntry {
	a := m.added
	m.added = nil
	return a
}
