package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"

import (
	"runtime"
	"sync"
)

// The Go runtime collects once the heap has grown by GOGC percent (100) of
// what the last collection found live. A collector whose live heap is small
// beside its memory budget therefore collects very often: with 20 MiB live
// and a load allocating 30 MiB a second, twice a second, each collection's
// mark phase taking CPU from the requests of its 5-10 ms. gcGoal lets the
// heap grow, after each collection, to a floor (a share of the soft memory
// limit) however little of it is live: GOGC is set after every collection so
// that its goal is the floor, and never below the GOGC the process started
// with, so a heap whose live data fills the floor collects as before. The
// soft memory limit still bounds the heap, and memory_limiter refuses data
// only above it.
//
// maxGCPercent bounds GOGC while almost nothing is live (at the start).
const maxGCPercent = 10000

type gcGoal struct {
	floor uint64 // bytes the heap may grow to before a collection
	base  int    // GOGC the process started with, the least the goal sets
	set   func(int) int
	live  func() uint64

	mu      sync.Mutex
	current int
	stopped bool
}

// percentFor is the GOGC whose goal, with live bytes live, is the floor,
// between the base and maxGCPercent.
func (g *gcGoal) percentFor(live uint64) int {
	p := int64(g.floor*100/max(live, 1)) - 100 //nolint:gosec // floor is a share of a memory limit in bytes
	return max(g.base, int(min(p, maxGCPercent)))
}

// adjust sets GOGC for the live heap the last collection found; a change of
// less than a twentieth is left alone. It reports whether it is still to
// follow the collections.
func (g *gcGoal) adjust() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	p := g.percentFor(g.live())
	if diff := p - g.current; diff*20 > g.current || -diff*20 > g.current {
		g.set(p)
		g.current = p
	}
	return true
}

// stop gives the runtime back the GOGC it had.
func (g *gcGoal) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stopped {
		g.stopped = true
		g.set(g.base)
	}
}

// afterEachCollection calls fn after every garbage collection until fn
// returns false. A finalizer runs once the collection that found its object
// unreachable is over; re-armed each time, it follows every collection.
func afterEachCollection(fn func() bool) {
	type sentinel struct{ _ [16]byte } // not tiny-allocated: its own finalizer
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
			if fn() {
				arm()
			}
		})
	}
	arm()
}
