package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"slices"
)

// hashID maps an entity id to 64 bits: FNV-1a, then the splitmix64
// finaliser so that ids differing in one character differ in every bit.
//
// Two different subjobs of one job share a hash with a probability of about
// n²/2⁶⁵ for n subjobs (3·10⁻¹⁰ for a job of 100,000 subjobs). When they do,
// the second is taken for a copy of the first and left out of the job's
// roll-ups: its job shows one subjob fewer. The hash is not keyed: whoever
// can send a subjob with a chosen id can already send that subjob itself.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// idPendingMax is how many hashes wait unsorted before they are merged into
// the sorted part: lookups scan at most this many, and a merge moves the
// sorted part once per this many inserts.
const idPendingMax = 32

// idSet is a set of 64-bit hashes held in 8 bytes each (plus slice growth):
// a sorted slice and a short unsorted tail. The processor keeps one per job,
// of the subjobs already counted, so that a subjob delivered again (a
// client's retry after a refusal, or the same subjob over OTLP and v1) is not
// counted twice.
type idSet struct {
	sorted  []uint64
	pending []uint64
}

func (s *idSet) len() int { return len(s.sorted) + len(s.pending) }

func (s *idSet) has(h uint64) bool {
	if _, ok := slices.BinarySearch(s.sorted, h); ok {
		return true
	}
	return slices.Contains(s.pending, h)
}

// add inserts h and reports whether it was new.
func (s *idSet) add(h uint64) bool {
	if s.has(h) {
		return false
	}
	s.pending = append(s.pending, h)
	if len(s.pending) >= idPendingMax {
		s.merge()
	}
	return true
}

// merge sorts the pending hashes into the sorted part, in place from the
// back, so no second slice is allocated.
func (s *idSet) merge() {
	if len(s.pending) == 0 {
		return
	}
	slices.Sort(s.pending)
	n, m := len(s.sorted), len(s.pending)
	s.sorted = slices.Grow(s.sorted, m)[:n+m]
	i, j := n-1, m-1
	for k := len(s.sorted) - 1; j >= 0; k-- {
		if i >= 0 && s.sorted[i] > s.pending[j] {
			s.sorted[k] = s.sorted[i]
			i--
		} else {
			s.sorted[k] = s.pending[j]
			j--
		}
	}
	s.pending = s.pending[:0]
}

// all returns every hash, in no particular order.
func (s *idSet) all() []uint64 {
	return append(append(make([]uint64, 0, s.len()), s.sorted...), s.pending...)
}
