// Package sharedcomponent hands out one instance per key to every pipeline
// that uses it: the pipelines of several signals that name the same receiver,
// processor or exporter configuration share one listener, one state, one
// connection; exporters that write the same file share one writer.
//
// It mirrors the collector's go.opentelemetry.io/collector/internal/sharedcomponent
// (v0.142.0), which is internal to core and cannot be imported: one instance
// per key, forgotten once shut down, started with a host that passes its
// status reports on to every user's pipeline (host.go). It differs in when
// the instance starts and shuts down, which core ties to the first user's
// Start and the first user's Shutdown: here that is the instance's Lifetime,
// chosen by what the instance does to its users' pipelines.
package sharedcomponent // import "github.com/wafermonitor/wafermonitor/internal/sharedcomponent"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Lifetime is when a shared instance starts and shuts down among its users'
// Start and Shutdown calls. The collector starts a pipeline's consumers
// before what feeds them and shuts them down after it, but promises no order
// across pipelines: the logs pipeline may be running while the traces
// pipeline's exporters have not started, or have already stopped.
type Lifetime int

const (
	// WhileAllRun starts the instance at the last user's Start and shuts it
	// down at the first user's Shutdown, so it runs only while every pipeline
	// it sends into runs. For receivers: started with the logs pipeline, a
	// listener would hand traces to an exporter not started yet; still
	// listening after the logs pipeline stopped, it would answer its clients
	// with errors, which old clients count as losses.
	WhileAllRun Lifetime = iota
	// WhileAnyRuns starts the instance at the first user's Start and shuts it
	// down at the last user's Shutdown, so it runs while any pipeline may
	// send into it. For exporters: each pipeline's sending queue sends as
	// soon as its own exporter started, and drains in its Shutdown. Also for
	// a processor's state, which every pipeline feeds, and for a file that
	// several exporters write.
	WhileAnyRuns
)

// Sender is implemented by an instance that lives WhileAnyRuns but also
// sends into its users' pipelines on its own (from a timer, not in answer to
// their calls): that sending may only happen while every pipeline runs.
// StartSending is called once the instance and all its users have started,
// StopSending at the first user's Shutdown, before the instance's Shutdown.
type Sender interface {
	StartSending()
	StopSending()
}

// Map holds the shared instances by key: the component's *Config, or the
// absolute path of a file.
type Map[K comparable, V component.Component] struct {
	lifetime Lifetime
	mu       sync.Mutex
	items    map[K]*instance[V]
}

// NewMap returns an empty Map whose instances live for lifetime.
func NewMap[K comparable, V component.Component](lifetime Lifetime) *Map[K, V] {
	return &Map[K, V]{lifetime: lifetime, items: map[K]*instance[V]{}}
}

// LoadOrStore returns a new user's handle on the instance for key, made by
// create the first time. A user that cannot go on (its own create failed
// after this call) gives its handle back with Release.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if in, ok := m.items[key]; ok && in.addUser() {
		return &Component[V]{in: in}, nil
	}
	inner, err := create()
	if err != nil {
		return nil, err
	}
	in := &instance[V]{inner: inner, lifetime: m.lifetime, users: 1, host: newHostWrapper()}
	in.forget = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.items[key] == in {
			delete(m.items, key)
		}
	}
	m.items[key] = in
	return &Component[V]{in: in}, nil
}

// LoadAndStart is LoadOrStore for a user that starts at once, such as a
// file writer opened in an exporter's Start. fits says whether the instance
// found can serve this user (the same file with other settings cannot); if
// not, or if the start fails, the handle is given back and the error
// returned.
func (m *Map[K, V]) LoadAndStart(ctx context.Context, host component.Host, key K, create func() (V, error), fits func(V) error) (*Component[V], error) {
	c, err := m.LoadOrStore(key, create)
	if err != nil {
		return nil, err
	}
	if err := fits(c.Unwrap()); err != nil {
		_ = c.Release(ctx)
		return nil, err
	}
	if err := c.Start(ctx, host); err != nil {
		_ = c.Shutdown(ctx)
		return nil, err
	}
	return c, nil
}

// Load returns the instance for key, if there is one, without becoming one
// of its users.
func (m *Map[K, V]) Load(key K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, ok := m.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	return in.inner, true
}
