package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/processor"
)

// sharedMap hands out one hierarchy per configuration, so the logs and the
// traces pipeline that name the same processor share its state, and the
// watchdog fed by the logs pipeline can send its spans into the traces
// pipeline. The collector's own helper for this (sharedcomponent) is
// internal to core and contrib, hence this small copy of the idea.
type sharedMap struct {
	mu    sync.Mutex
	items map[*Config]*sharedHierarchy
}

func newSharedMap() *sharedMap { return &sharedMap{items: map[*Config]*sharedHierarchy{}} }

func (m *sharedMap) loadOrStore(cfg *Config, set processor.Settings) (*sharedHierarchy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.items[cfg]; ok {
		return h, nil
	}
	inner, err := newHierarchy(cfg, set)
	if err != nil {
		return nil, err
	}
	h := &sharedHierarchy{inner: inner, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, cfg)
	}}
	m.items[cfg] = h
	return h, nil
}

// sharedHierarchy starts its hierarchy on the first Start and shuts it down,
// and forgets it, on the first Shutdown.
type sharedHierarchy struct {
	inner        *hierarchy
	remove       func()
	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	shutdownErr  error
}

func (h *sharedHierarchy) Start(ctx context.Context, host component.Host) error {
	h.startOnce.Do(func() { h.startErr = h.inner.Start(ctx, host) })
	return h.startErr
}

func (h *sharedHierarchy) Shutdown(ctx context.Context) error {
	h.shutdownOnce.Do(func() {
		h.shutdownErr = h.inner.Shutdown(ctx)
		h.remove()
	})
	return h.shutdownErr
}
