package gomemoryextension

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// fakeHeap is a heap whose allocation and reclaimable memory the test sets;
// a release collects and returns everything reclaimable.
type fakeHeap struct {
	state    heapState
	releases int
}

func (h *fakeHeap) read() heapState { return h.state }

// step allocates allocMiB more and leaves reclaimMiB reclaimable.
func (h *fakeHeap) step(allocMiB, reclaimMiB uint64) {
	h.state.allocated += allocMiB << 20
	h.state.live = 30 << 20
	h.state.held = h.state.live + reclaimMiB<<20
}

func (h *fakeHeap) free() {
	h.releases++
	h.state.released += h.state.reclaimable()
	h.state.held = h.state.live
}

func TestReleaserReleasesOnceAfterEachLoad(t *testing.T) {
	type step struct {
		allocMiB, reclaimMiB uint64
		released             bool
	}
	busy := func(reclaim uint64) step { return step{allocMiB: 200, reclaimMiB: reclaim} }
	quiet := func(reclaim uint64, released bool) step {
		return step{allocMiB: 1, reclaimMiB: reclaim, released: released}
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"quiet from the start: the start was the load", []step{quiet(40, true), quiet(40, false), quiet(60, false)}},
		{"load, then quiet", []step{busy(80), busy(90), quiet(90, true), quiet(50, false)}},
		{"never quiet", []step{busy(80), busy(80), {allocMiB: 16, reclaimMiB: 80}, busy(80)}},
		// Just below quiet_mib (16) counts as quiet.
		{"quiet up to quiet_mib", []step{busy(80), {allocMiB: 15, reclaimMiB: 80, released: true}}},
		{"each load released once", []step{busy(80), quiet(80, true), quiet(80, false), busy(70), quiet(70, true), quiet(70, false)}},
		// Quiet, but allocating: released again each time quiet_mib was
		// allocated since the last release, if as much can be handed back.
		// quiet_garbage_mib (here 16, by default 4) is what a quiet
		// collector allocates between releases.
		{"garbage of a quiet collector", []step{
			busy(80), {allocMiB: 15, reclaimMiB: 30, released: true},
			{allocMiB: 15, reclaimMiB: 30}, {allocMiB: 15, reclaimMiB: 30, released: true},
			{allocMiB: 15, reclaimMiB: 5}, {allocMiB: 15, reclaimMiB: 5},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHeap{}
			r := newReleaser(ReleaseConfig{QuietMiB: 16, QuietGarbageMiB: 16}, h.read, h.free, nil, zap.NewNop())
			releases := 0
			for i, s := range tc.steps {
				h.step(s.allocMiB, s.reclaimMiB)
				got := r.check()
				assert.Equal(t, s.released, got, "step %d", i)
				if got {
					releases++
				}
			}
			assert.Equal(t, releases, h.releases)
		})
	}
}

// TestQuietGarbageReleasedByDefault: with the defaults, a quiet collector
// releases again each time it allocated 4 MiB, while 4 MiB can be handed
// back, however far it stays below quiet_mib.
func TestQuietGarbageReleasedByDefault(t *testing.T) {
	h := &fakeHeap{}
	cfg := createDefaultConfig().(*Config).Release
	r := newReleaser(cfg, h.read, h.free, nil, zap.NewNop())
	var got []bool
	for _, s := range [][2]uint64{{200, 80}, {1, 80}, {2, 6}, {2, 8}, {3, 3}, {1, 4}, {2, 6}} {
		h.step(s[0], s[1])
		got = append(got, r.check())
	}
	assert.Equal(t, []bool{false, true, false, true, false, true, false}, got)
}

// TestReleaserPutsOffAReleaseWhileALoadBegins: a check that finds the heap
// quiet releases only if it still allocates at a quiet rate a moment later;
// a load that has just begun puts the release off to a later quiet check.
func TestReleaserPutsOffAReleaseWhileALoadBegins(t *testing.T) {
	type step struct {
		allocMiB, reclaimMiB uint64
		pauseKiB             uint64 // allocated while the releaser confirms
		released             bool
	}
	for _, tc := range []struct {
		name   string
		steps  []step
		pauses int
	}{
		{"quiet while confirming: released", []step{
			{allocMiB: 200, reclaimMiB: 80}, {allocMiB: 1, reclaimMiB: 80, pauseKiB: 8, released: true},
		}, 1},
		{"a load begins: put off until the next quiet check", []step{
			{allocMiB: 200, reclaimMiB: 80},
			{allocMiB: 1, reclaimMiB: 80, pauseKiB: 2048},
			{allocMiB: 200, reclaimMiB: 90},
			{allocMiB: 1, reclaimMiB: 90, pauseKiB: 8, released: true},
		}, 2},
		{"a quiet collector's garbage, then a load begins", []step{
			{allocMiB: 200, reclaimMiB: 80}, {allocMiB: 1, reclaimMiB: 80, released: true},
			{allocMiB: 15, reclaimMiB: 30},
			{allocMiB: 15, reclaimMiB: 30, pauseKiB: 4096},
			{allocMiB: 1, reclaimMiB: 30, released: true},
		}, 3},
		{"no confirmation while busy", []step{{allocMiB: 200, reclaimMiB: 80}, {allocMiB: 200, reclaimMiB: 80}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHeap{}
			var pauseKiB uint64
			pauses := 0
			pause := func(d time.Duration) {
				assert.Equal(t, confirmDelay, d)
				pauses++
				h.state.allocated += pauseKiB << 10
			}
			r := newReleaser(ReleaseConfig{QuietMiB: 16, QuietGarbageMiB: 16, CheckInterval: 5 * time.Second}, h.read, h.free, pause, zap.NewNop())
			assert.Equal(t, uint64(256<<10), r.quietDuringPause, "16 MiB over 5 s is 164 KiB in 50 ms; at least 256 KiB")
			for i, s := range tc.steps {
				h.step(s.allocMiB, s.reclaimMiB)
				pauseKiB = s.pauseKiB
				assert.Equal(t, s.released, r.check(), "step %d", i)
			}
			assert.Equal(t, tc.pauses, pauses)
		})
	}
}

var sink [][]byte

// TestReleaserReturnsGarbageToTheSystem runs the releaser on the real
// runtime: the memory of a load's garbage, collected or not, is returned.
func TestReleaserReturnsGarbageToTheSystem(t *testing.T) {
	read := newHeapReader()
	r := newReleaser(ReleaseConfig{QuietMiB: 16, QuietGarbageMiB: 4, CheckInterval: time.Second}, read, debug.FreeOSMemory, time.Sleep, zap.NewNop())
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	require.False(t, r.check(), "64 MiB allocated since the start: busy")
	before := read()
	require.True(t, r.check(), "quiet after the load, with %d MiB reclaimable", before.reclaimable()>>20)
	after := read()
	t.Logf("FIGURES held above live: %d MiB before the release, %d MiB after; %d MiB returned to the system",
		before.reclaimable()>>20, after.reclaimable()>>20, (after.released-before.released)>>20)
	// What stays held after the release is the runtime's own: the spans'
	// unused space, the free pages each P keeps in its page cache (up to 64
	// pages of 8 KiB), which FreeOSMemory leaves alone, and what other
	// goroutines allocated meanwhile. Seen: 0 to 4 MiB on 2 cores, more with
	// many Ps. The load's 64 MiB of garbage must not be among it.
	pageCaches := uint64(runtime.GOMAXPROCS(0)) * 64 * 8 << 10
	assert.Less(t, after.reclaimable(), 8<<20+pageCaches)
	assert.GreaterOrEqual(t, after.released-before.released, uint64(48<<20))
}
