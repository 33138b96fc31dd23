package gomemoryextension

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestGCGoalPercent(t *testing.T) {
	g := &gcGoal{floor: 192 << 20, base: 100}
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{live: 20 << 20, want: 860},   // 20 MiB live: collect at 192 MiB
		{live: 64 << 20, want: 200},   // 3× live is the floor
		{live: 96 << 20, want: 100},   // twice live is the floor: GOGC as it was
		{live: 150 << 20, want: 100},  // live fills the floor: never below the base
		{live: 1 << 10, want: 10000},  // almost nothing live: bounded
		{live: 0, want: maxGCPercent}, // before the first collection
	} {
		assert.Equal(t, tc.want, g.percentFor(tc.live), "live %d KiB", tc.live>>10)
	}
	g.base = 300 // GOGC=300 given to the process by other means
	assert.Equal(t, 300, g.percentFor(96<<20))
}

// TestGCGoalFollowsEachCollection: GOGC is set at the start and after each
// collection for the live heap it found, left alone for small changes, and
// given back at shutdown.
func TestGCGoalFollowsEachCollection(t *testing.T) {
	f := newFakeRuntime()
	cfg := createDefaultConfig().(*Config)
	cfg.LimitMiB, cfg.SpikeLimitMiB = 512, 128 // soft limit 384 MiB
	cfg.MinHeapGoalPercent = 50                // floor 192 MiB
	f.live = 20 << 20
	core, logs := observer.New(zap.InfoLevel)
	g := newGoMemory(cfg, zap.New(core), f.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, []int{860}, f.gcPercents)
	require.NotNil(t, f.afterGC)
	assert.Equal(t, 1, logs.FilterMessageSnippet("min_heap_goal_percent").Len())

	f.live = 64 << 20
	assert.True(t, f.afterGC())
	f.live = 65 << 20 // 195 instead of 200: left alone
	assert.True(t, f.afterGC())
	f.live = 200 << 20
	assert.True(t, f.afterGC())
	assert.Equal(t, []int{860, 200, 100}, f.gcPercents)

	require.NoError(t, g.Shutdown(context.Background()))
	assert.Equal(t, []int{860, 200, 100, 100}, f.gcPercents, "the base given back")
	assert.False(t, f.afterGC(), "no longer follows the collections")
	assert.Len(t, f.gcPercents, 4)
}

func TestGCGoalLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   uint32
		percent uint32
		env     map[string]string
		wantLog string
	}{
		{name: "GOGC in the environment", limit: 512, percent: 50, env: map[string]string{"GOGC": "200"}, wantLog: "GOGC is set in the environment"},
		{name: "min_heap_goal_percent 0", limit: 512},
		{name: "no soft memory limit", percent: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRuntime()
			for k, v := range tc.env {
				f.env[k] = v
			}
			cfg := createDefaultConfig().(*Config)
			cfg.LimitMiB, cfg.MinHeapGoalPercent = tc.limit, tc.percent
			core, logs := observer.New(zap.InfoLevel)
			g := newGoMemory(cfg, zap.New(core), f.hooks())
			require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, g.Shutdown(context.Background()))
			assert.Empty(t, f.gcPercents)
			assert.Nil(t, f.afterGC)
			if tc.wantLog != "" {
				assert.Equal(t, 1, logs.FilterMessageSnippet(tc.wantLog).Len(), "logs: %v", logs.All())
			}
		})
	}
}

// TestGCGoalOnTheRealRuntime: the real runtime's GOGC is raised while the
// extension runs, followed after real collections, and given back.
func TestGCGoalOnTheRealRuntime(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := readGCPercent()
	calls := make(chan struct{}, 64)
	rt := goRuntime()
	follow := rt.afterEachCollection
	rt.afterEachCollection = func(fn func() bool) {
		follow(func() bool {
			select {
			case calls <- struct{}{}:
			default:
			}
			return fn()
		})
	}
	cfg := createDefaultConfig().(*Config)
	cfg.LimitMiB, cfg.SpikeLimitMiB = 4096, 1024 // a floor of 1.5 GiB: far above this test's heap
	cfg.Release.CheckInterval = 0
	g := newGoMemory(cfg, zap.NewNop(), rt)
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, maxGCPercent, readGCPercent())
	for range 2 {
		runtimeGCUntil(t, calls)
	}
	assert.Equal(t, maxGCPercent, readGCPercent())
	require.NoError(t, g.Shutdown(context.Background()))
	assert.Equal(t, before, readGCPercent())
}

// runtimeGCUntil collects until the finalizer that follows the collections
// has run once more (it runs after the collection that finds its object
// unreachable, on the finalizer goroutine).
func runtimeGCUntil(t *testing.T, calls <-chan struct{}) {
	t.Helper()
	for {
		runtime.GC()
		select {
		case <-calls:
			return
		default:
			runtime.Gosched()
		}
	}
}
