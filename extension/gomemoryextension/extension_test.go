package gomemoryextension

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeRuntime records what the extension does to the runtime. Each read
// of the heap takes the next state the test sends, so that the test and
// the extension's goroutine take turns.
type fakeRuntime struct {
	env      map[string]string
	limit    int64
	states   chan heapState
	ticks    chan time.Time
	released chan struct{}
	tickers  int

	gcPercents []int // what GOGC was set to, in order
	live       uint64
	afterGC    func() bool
}

func newFakeRuntime() *fakeRuntime {
	f := &fakeRuntime{env: map[string]string{}, limit: math.MaxInt64, states: make(chan heapState, 1),
		ticks: make(chan time.Time), released: make(chan struct{}, 10)}
	f.states <- heapState{} // read at Start
	return f
}

func (f *fakeRuntime) hooks() runtimeHooks {
	return runtimeHooks{
		getenv: func(k string) string { return f.env[k] },
		setMemoryLimit: func(v int64) int64 {
			prev := f.limit
			if v >= 0 {
				f.limit = v
			}
			return prev
		},
		readHeap:     func() heapState { return <-f.states },
		freeOSMemory: func() { f.released <- struct{}{} },
		newTicker: func(time.Duration) (<-chan time.Time, func()) {
			f.tickers++
			return f.ticks, func() {}
		},
		sleep: func(time.Duration) {},
		setGCPercent: func(p int) int {
			f.gcPercents = append(f.gcPercents, p)
			return 0
		},
		gcPercent:           func() int { return 100 },
		liveHeap:            func() uint64 { return f.live },
		afterEachCollection: func(fn func() bool) { f.afterGC = fn },
	}
}

// check has the extension check a heap that allocated allocatedMiB in
// all.
func (f *fakeRuntime) check(allocatedMiB uint64) {
	f.ticks <- time.Time{}
	f.states <- heapState{allocated: allocatedMiB << 20}
}

func TestSoftMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit      uint32
		spike      uint32
		gomemlimit string
		want       int64 // the runtime's limit while the extension runs
		wantLog    string
	}{
		{name: "memory_limiter's soft limit", limit: 512, spike: 128, want: 384 << 20, wantLog: "Go runtime soft memory limit set"},
		{name: "default spike", limit: 1000, want: 800 << 20, wantLog: "Go runtime soft memory limit set"},
		{name: "GOMEMLIMIT wins", limit: 512, spike: 128, gomemlimit: "800MiB", want: math.MaxInt64, wantLog: "GOMEMLIMIT is set in the environment"},
		{name: "no limit", want: math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRuntime()
			f.env["GOMEMLIMIT"] = tc.gomemlimit
			core, logs := observer.New(zap.InfoLevel)
			cfg := createDefaultConfig().(*Config)
			cfg.LimitMiB, cfg.SpikeLimitMiB = tc.limit, tc.spike
			g := newGoMemory(cfg, zap.New(core), f.hooks())
			require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
			assert.Equal(t, tc.want, f.limit)
			require.NoError(t, g.Shutdown(context.Background()))
			assert.Equal(t, int64(math.MaxInt64), f.limit, "the limit before Start is restored")
			if tc.wantLog != "" {
				assert.Equal(t, 1, logs.FilterMessageSnippet(tc.wantLog).Len(), "logs: %v", logs.All())
			} else {
				assert.Zero(t, logs.Len())
			}
		})
	}
}

func TestReleaseLoop(t *testing.T) {
	f := newFakeRuntime()
	g := newGoMemory(createDefaultConfig().(*Config), zap.NewNop(), f.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	f.check(100) // a load
	f.check(101) // quiet: confirmed, released, and the heap read again
	f.states <- heapState{allocated: 101 << 20}
	<-f.released
	f.states <- heapState{allocated: 101 << 20}
	f.check(102) // still quiet: nothing
	f.check(300) // a load
	f.check(301) // quiet, but a load begins while it confirms: put off
	f.states <- heapState{allocated: 310 << 20}
	f.check(320) // busy
	f.check(321) // quiet: released
	f.states <- heapState{allocated: 321 << 20}
	<-f.released
	f.states <- heapState{allocated: 321 << 20}
	require.NoError(t, g.Shutdown(context.Background()))
	assert.Empty(t, f.released)
	assert.Equal(t, 1, f.tickers)
}

func TestReleaseDisabled(t *testing.T) {
	f := newFakeRuntime()
	cfg := createDefaultConfig().(*Config)
	cfg.Release.CheckInterval = 0
	g := newGoMemory(cfg, zap.NewNop(), f.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, g.Shutdown(context.Background()))
	assert.Zero(t, f.tickers)
}

func TestShutdownBeforeStart(t *testing.T) {
	f := newFakeRuntime()
	g := newGoMemory(createDefaultConfig().(*Config), zap.NewNop(), f.hooks())
	require.NoError(t, g.Shutdown(context.Background()))
	assert.Equal(t, int64(math.MaxInt64), f.limit)
}
