// Package sharedcomponent hands out one component instance per configuration,
// so that the pipelines of several signals that name the same receiver or
// processor share it: one listener, one state. The collector's own helper for
// this is internal to core and contrib, hence this small version of it.
package sharedcomponent // import "github.com/wafermonitor/wafermonitor/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Map holds the shared instances by key (the component's *Config).
type Map[K comparable, V component.Component] struct {
	mu    sync.Mutex
	items map[K]*Component[V]
}

// NewMap returns an empty Map.
func NewMap[K comparable, V component.Component]() *Map[K, V] {
	return &Map[K, V]{items: map[K]*Component[V]{}}
}

// LoadOrStore returns the instance for key, made by create the first time.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.items[key]; ok {
		return c, nil
	}
	inner, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{inner: inner, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, key)
	}}
	m.items[key] = c
	return c, nil
}

// Component starts its instance on the first Start, and shuts it down and
// forgets it on the first Shutdown.
type Component[V component.Component] struct {
	inner        V
	remove       func()
	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	shutdownErr  error
}

// Unwrap returns the shared instance.
func (c *Component[V]) Unwrap() V { return c.inner }

// Start starts the instance once.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.startOnce.Do(func() { c.startErr = c.inner.Start(ctx, host) })
	return c.startErr
}

// Shutdown shuts the instance down once and removes it from its Map.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() {
		c.shutdownErr = c.inner.Shutdown(ctx)
		c.remove()
	})
	return c.shutdownErr
}
