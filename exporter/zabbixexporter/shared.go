package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// cores hands out one exporter core per configuration: the logs, traces
// and metrics exporters of one zabbix configuration share what was
// announced to Zabbix and the job types' delivery state.
//
// Its interface is internal/sharedcomponent's (LoadOrStore, Unwrap, Start,
// Shutdown), so that the core can move to it; unlike it, the core starts
// at its first user's Start (each pipeline's queue sends as soon as its
// exporter started) and shuts down at its last user's Shutdown.
var cores = newCoreMap()

type coreMap struct {
	mu    sync.Mutex
	items map[*Config]*sharedCoreState
}

type sharedCoreState struct {
	core  *zabbixExporter
	users int
}

func newCoreMap() *coreMap { return &coreMap{items: map[*Config]*sharedCoreState{}} }

// sharedCore is one user's handle on a shared core.
type sharedCore struct {
	m     *coreMap
	key   *Config
	state *sharedCoreState
	once  sync.Once
}

// LoadOrStore returns a new user's handle on the core for key, made by
// create the first time.
func (m *coreMap) LoadOrStore(key *Config, create func() (*zabbixExporter, error)) (*sharedCore, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.items[key]
	if !ok {
		core, err := create()
		if err != nil {
			return nil, err
		}
		st = &sharedCoreState{core: core}
		m.items[key] = st
	}
	st.users++
	return &sharedCore{m: m, key: key, state: st}, nil
}

// Unwrap returns the shared core.
func (c *sharedCore) Unwrap() *zabbixExporter { return c.state.core }

// Start starts the core; the first user's call does it.
func (c *sharedCore) Start(ctx context.Context, host component.Host) error {
	return c.state.core.Start(ctx, host)
}

// Shutdown ends this user's use; the last user's shuts the core down.
func (c *sharedCore) Shutdown(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		c.m.mu.Lock()
		defer c.m.mu.Unlock()
		c.state.users--
		if c.state.users == 0 {
			delete(c.m.items, c.key)
			err = c.state.core.Shutdown(ctx)
		}
	})
	return err
}
