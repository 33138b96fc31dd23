package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"
)

// sharedMap hands out one receiver per configuration, so the logs, traces and
// metrics pipelines that name the same receiver share its listener. The
// collector's own helper for this (sharedcomponent) is internal to core and
// contrib, hence this small copy of the idea.
type sharedMap struct {
	mu    sync.Mutex
	items map[*Config]*sharedReceiver
}

func newSharedMap() *sharedMap { return &sharedMap{items: map[*Config]*sharedReceiver{}} }

func (m *sharedMap) loadOrStore(cfg *Config, set receiver.Settings) (*sharedReceiver, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.items[cfg]; ok {
		return r, nil
	}
	inner, err := newReceiver(cfg, set)
	if err != nil {
		return nil, err
	}
	r := &sharedReceiver{inner: inner, remove: func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, cfg)
	}}
	m.items[cfg] = r
	return r, nil
}

// sharedReceiver starts its receiver on the first Start and shuts it down,
// and forgets it, on the first Shutdown.
type sharedReceiver struct {
	inner        *wafermonitorReceiver
	remove       func()
	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	shutdownErr  error
}

func (r *sharedReceiver) unwrap() *wafermonitorReceiver { return r.inner }

func (r *sharedReceiver) Start(ctx context.Context, host component.Host) error {
	r.startOnce.Do(func() { r.startErr = r.inner.Start(ctx, host) })
	return r.startErr
}

func (r *sharedReceiver) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() {
		r.shutdownErr = r.inner.Shutdown(ctx)
		r.remove()
	})
	return r.shutdownErr
}
