package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// runtimeHooks are the Go runtime's controls the extension uses; tests
// replace them.
type runtimeHooks struct {
	getenv         func(string) string
	setMemoryLimit func(int64) int64
	readHeap       func() heapState
	freeOSMemory   func()
	newTicker      func(time.Duration) (<-chan time.Time, func())
	sleep          func(time.Duration)
	// GOGC, the live heap of the last collection, and fn called after
	// every collection until it returns false.
	setGCPercent        func(int) int
	gcPercent           func() int
	liveHeap            func() uint64
	afterEachCollection func(fn func() bool)
}

func goRuntime() runtimeHooks {
	return runtimeHooks{
		getenv:         os.Getenv,
		setMemoryLimit: debug.SetMemoryLimit,
		readHeap:       newHeapReader(),
		freeOSMemory:   debug.FreeOSMemory,
		newTicker: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
		sleep:               time.Sleep,
		setGCPercent:        debug.SetGCPercent,
		gcPercent:           readGCPercent,
		liveHeap:            newLiveHeapReader(),
		afterEachCollection: afterEachCollection,
	}
}

// goMemory is the extension. The soft memory limit is the process's: with
// several go_memory extensions, the last one started sets it.
type goMemory struct {
	cfg    *Config
	logger *zap.Logger
	rt     runtimeHooks

	// restore is the runtime's limit before Start set one (limitSet).
	restore  int64
	limitSet bool

	stop, done chan struct{}
	gc         *gcGoal
}

func newGoMemory(cfg *Config, logger *zap.Logger, rt runtimeHooks) *goMemory {
	return &goMemory{cfg: cfg, logger: logger, rt: rt}
}

// Start sets the soft memory limit and starts watching for quiet.
func (g *goMemory) Start(context.Context, component.Host) error {
	g.applyLimit()
	g.startGCGoal()
	if g.cfg.Release.CheckInterval <= 0 {
		return nil
	}
	r := newReleaser(g.cfg.Release, g.rt.readHeap, g.rt.freeOSMemory, g.rt.sleep, g.logger)
	ticks, stopTicks := g.rt.newTicker(g.cfg.Release.CheckInterval)
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(g.done)
		defer stopTicks()
		for {
			select {
			case <-ticks:
				r.check()
			case <-g.stop:
				return
			}
		}
	}()
	return nil
}

// Shutdown stops watching and gives the runtime back the limit it had.
func (g *goMemory) Shutdown(context.Context) error {
	if g.stop != nil {
		close(g.stop)
		<-g.done
		g.stop = nil
	}
	if g.gc != nil {
		g.gc.stop()
		g.gc = nil
	}
	if g.limitSet {
		g.rt.setMemoryLimit(g.restore)
		g.limitSet = false
	}
	return nil
}

func (g *goMemory) applyLimit() {
	soft := g.cfg.softLimitBytes()
	if soft == 0 {
		return
	}
	if v := g.rt.getenv("GOMEMLIMIT"); v != "" {
		g.logger.Info("GOMEMLIMIT is set in the environment: the Go runtime keeps it as its soft memory limit",
			zap.String("GOMEMLIMIT", v), zap.Int64("configured_soft_limit_mib", soft>>20))
		return
	}
	g.restore = g.rt.setMemoryLimit(soft)
	g.limitSet = true
	g.logger.Info("Go runtime soft memory limit set: limit_mib less spike_limit_mib",
		zap.Int64("soft_limit_mib", soft>>20))
}

// startGCGoal lets the heap grow to min_heap_goal_percent of the soft memory
// limit before each collection (gcGoal), unless GOGC is set in the
// environment or there is no soft memory limit to take a share of.
func (g *goMemory) startGCGoal() {
	if g.cfg.MinHeapGoalPercent == 0 {
		return
	}
	if v := g.rt.getenv("GOGC"); v != "" {
		g.logger.Info("GOGC is set in the environment: the Go runtime keeps it, and the heap's goal is not raised",
			zap.String("GOGC", v))
		return
	}
	limit := g.rt.setMemoryLimit(-1) // a negative limit reads it
	if limit <= 0 || limit == math.MaxInt64 {
		return
	}
	g.gc = &gcGoal{
		floor: uint64(limit) * uint64(g.cfg.MinHeapGoalPercent) / 100,
		base:  g.rt.gcPercent(),
		set:   g.rt.setGCPercent,
		live:  g.rt.liveHeap,
	}
	g.gc.current = g.gc.base
	g.gc.adjust()
	g.rt.afterEachCollection(g.gc.adjust)
	g.logger.Info("Go heap may grow to min_heap_goal_percent of the soft memory limit before a collection",
		zap.Uint64("min_heap_goal_mib", g.gc.floor>>20))
}
