package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"

import (
	"runtime/metrics"
	"time"

	"go.uber.org/zap"
)

// heapState is what the runtime reports of its heap, in bytes.
type heapState struct {
	allocated uint64 // allocated since the process started
	held      uint64 // backed by memory: objects (garbage included), reserved and free
	live      uint64 // live at the end of the last collection
	released  uint64 // returned to the system
}

// reclaimable is what a collection and a release could hand back: all the
// heap the runtime holds but what was live at the last collection.
func (s heapState) reclaimable() uint64 {
	if s.held > s.live {
		return s.held - s.live
	}
	return 0
}

var heapMetrics = [...]string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/released:bytes",
}

// newMetricsReader reads the named runtime metrics (runtime/metrics, which,
// unlike runtime.ReadMemStats, does not stop the world) into samples of its
// own: a reader is not safe for concurrent use. A metric that is not a
// uint64 reads 0.
func newMetricsReader(names ...string) func() []uint64 {
	samples := make([]metrics.Sample, len(names))
	for i, name := range names {
		samples[i].Name = name
	}
	values := make([]uint64, len(names))
	return func() []uint64 {
		metrics.Read(samples)
		for i := range samples {
			values[i] = 0
			if samples[i].Value.Kind() == metrics.KindUint64 {
				values[i] = samples[i].Value.Uint64()
			}
		}
		return values
	}
}

// newHeapReader reads heapState.
func newHeapReader() func() heapState {
	read := newMetricsReader(heapMetrics[:]...)
	return func() heapState {
		v := read()
		return heapState{allocated: v[0], held: v[1] + v[2] + v[3], live: v[4], released: v[5]}
	}
}

// readGCPercent is the runtime's GOGC.
func readGCPercent() int {
	return int(newMetricsReader("/gc/gogc:percent")()[0]) //nolint:gosec // a percentage
}

// newLiveHeapReader reads the heap the last collection found live.
func newLiveHeapReader() func() uint64 {
	read := newMetricsReader("/gc/heap/live:bytes")
	return func() uint64 { return read()[0] }
}

// releaser returns the heap's unused memory once a load is over. The Go
// runtime alone keeps it: after a load its heap goal stays at twice the
// heap the last collection found live until the next collection (at the
// latest the periodic one, every two minutes), and its scavenger returns
// free memory only above that goal. A check that finds the collector quiet
// after a busy one collects the garbage and returns every free page at
// once (debug.FreeOSMemory). While it stays quiet, the little it still
// allocates (periodic checks, scrapes) would pile up as garbage up to the
// same goal, so a quiet check releases again once garbage bytes were
// allocated since the last release and at least as much could be handed
// back.
//
// A load that began just before a check has allocated too little by then to
// count as busy, and a release then (a full collection and the return of
// every free page, about 10 ms of CPU) would take the CPU its first requests
// need. So a release is confirmed: the releaser looks again a moment later
// and releases only if the heap allocated meanwhile no faster than a quiet
// collector does; otherwise the next check decides.
type releaser struct {
	quiet uint64
	// garbage is what a quiet collector allocates before it releases
	// again.
	garbage uint64
	read    func() heapState
	free    func()
	logger  *zap.Logger

	// pause waits confirmDelay; quietDuringPause is what a quiet collector
	// allocates meanwhile, at most.
	pause            func()
	quietDuringPause uint64

	last heapState
	// busy: a check since the last release found at least quiet bytes
	// allocated (the start counts as busy).
	busy bool
	// releasedAt: the bytes allocated since the start at the last release.
	releasedAt uint64
}

// confirmDelay is how long the releaser watches the heap before a release,
// and minQuietDuringPause what it lets a quiet collector allocate meanwhile
// whatever the configuration (a scrape, the processor's periodic check).
const (
	confirmDelay         = 50 * time.Millisecond
	minQuietDuringPause  = 256 << 10
	confirmIntervalRatio = 10
)

// newReleaser makes the releaser of cfg; pause(d) waits d (nil: releases are
// not confirmed).
func newReleaser(cfg ReleaseConfig, read func() heapState, free func(), pause func(time.Duration), logger *zap.Logger) *releaser {
	r := &releaser{
		quiet:   uint64(cfg.QuietMiB) << 20,
		garbage: uint64(cfg.QuietGarbageMiB) << 20,
		read:    read,
		free:    free,
		logger:  logger,
		last:    read(),
		busy:    true,
	}
	if pause != nil && cfg.CheckInterval > 0 {
		// The pause is short beside the interval, and the allocation it
		// allows is quiet_mib's rate over it.
		d := min(confirmDelay, cfg.CheckInterval/confirmIntervalRatio)
		r.pause = func() { pause(d) }
		r.quietDuringPause = max(minQuietDuringPause, uint64(float64(r.quiet)*float64(d)/float64(cfg.CheckInterval)))
	}
	return r
}

// check is one look at the heap; it reports whether it released.
func (r *releaser) check() bool {
	now := r.read()
	allocated := now.allocated - r.last.allocated
	r.last = now
	if allocated >= r.quiet {
		r.busy = true
		return false
	}
	if !r.busy && (now.allocated-r.releasedAt < r.garbage || now.reclaimable() < r.garbage) {
		return false
	}
	if r.pause != nil {
		r.pause()
		if again := r.read(); again.allocated-now.allocated > r.quietDuringPause {
			// A load is beginning: what it allocated counts in the next
			// check's window, which finds it busy or quiet.
			r.logger.Debug("Release put off: the heap is allocating again",
				zap.Uint64("allocated_kib", (again.allocated-now.allocated)>>10))
			return false
		}
	}
	r.free()
	after := r.read()
	r.last, r.busy, r.releasedAt = after, false, after.allocated
	r.logger.Debug("Returned the heap's unused memory to the system after a load",
		zap.Uint64("held_above_live_mib", now.reclaimable()>>20),
		zap.Uint64("returned_mib", (after.released-min(after.released, now.released))>>20),
		zap.Uint64("heap_live_mib", after.live>>20))
	return true
}
