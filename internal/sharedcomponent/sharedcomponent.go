// Package sharedcomponent hands out one component instance per configuration,
// so that the pipelines of several signals that name the same receiver or
// processor share it: one listener, one state. The collector's own helper for
// this is internal to core and contrib, hence this small version of it.
//
// Unlike that helper, the instance starts when the last of its users starts,
// not the first. The collector starts each pipeline's consumers before the
// pipeline's receiver, but makes no promise across pipelines: a receiver
// started with the logs pipeline could otherwise hand data to a traces
// exporter that has not started yet.
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
		c.users++
		return c, nil
	}
	inner, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{inner: inner, users: 1, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, key)
	}}
	m.items[key] = c
	return c, nil
}

// Load returns the instance for key, if there is one, without becoming a user of it.
func (m *Map[K, V]) Load(key K) (*Component[V], bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.items[key]
	return c, ok
}

// Component starts its instance when Start has been called once per user
// (per LoadOrStore), and shuts it down and forgets it on the first Shutdown.
type Component[V component.Component] struct {
	inner        V
	remove       func()
	mu           sync.Mutex
	users        int
	starts       int
	startErr     error
	shutdownOnce sync.Once
	shutdownErr  error
}

// Unwrap returns the shared instance.
func (c *Component[V]) Unwrap() V { return c.inner }

// Start starts the instance at the last of its users' Start calls.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.starts++
	if c.starts == c.users {
		c.startErr = c.inner.Start(ctx, host)
	}
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
