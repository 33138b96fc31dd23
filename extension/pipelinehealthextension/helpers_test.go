package pipelinehealthextension

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// storage is a storage extension with persistent queues and damaged files.
type storage struct {
	component.StartFunc
	component.ShutdownFunc
	dir string

	mu      sync.Mutex
	queues  map[spool.Queue]*spool.Queue // by owner, kind and name
	damaged []spool.DamagedFile
}

func (s *storage) Directory() string { return s.dir }

func (s *storage) Queues() []spool.Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []spool.Queue
	for _, q := range s.queues {
		out = append(out, *q)
	}
	return out
}

func (s *storage) DamagedFiles() []spool.DamagedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]spool.DamagedFile(nil), s.damaged...)
}

// set makes an exporter's queue for signal hold items, of which removed
// have left it since start.
func (s *storage) set(exporter, signal string, items, removed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := spool.Queue{Owner: component.MustNewID(exporter), Kind: component.KindExporter, Name: signal}
	if s.queues == nil {
		s.queues = map[spool.Queue]*spool.Queue{}
	}
	q := key
	q.Items, q.Removed = items, removed
	s.queues[key] = &q
}

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// start creates the extension with cfg (the default when nil) and starts it
// beside the storage extension st.
func start(t *testing.T, cfg *Config, st *storage) *pipelineHealth {
	t.Helper()
	f := NewFactory()
	if cfg == nil {
		cfg = f.CreateDefaultConfig().(*Config)
	}
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	h := host{exts: map[component.ID]component.Component{component.MustNewID("pipeline_health"): ext}}
	if st != nil {
		h.exts[component.MustNewID("file_storage")] = st
	}
	require.NoError(t, ext.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(*pipelineHealth)
}

// instance is a component instance as the collector names it in status
// events: component ID, kind and pipelines ("logs", "traces/2").
func instanceID(t *testing.T, kind component.Kind, id string, names ...string) *componentstatus.InstanceID {
	t.Helper()
	return componentstatus.NewInstanceID(component.MustNewID(id), kind, pipelines(t, names...)...)
}

// pipelines parses pipeline IDs ("logs", "traces/2").
func pipelines(t *testing.T, names ...string) []pipeline.ID {
	t.Helper()
	ps := make([]pipeline.ID, len(names))
	for i, n := range names {
		require.NoError(t, ps[i].UnmarshalText([]byte(n)))
	}
	return ps
}

// started reports Starting then OK for each instance, as the collector does
// when it starts a pipeline's components.
func started(e *pipelineHealth, ids ...*componentstatus.InstanceID) {
	for _, id := range ids {
		e.ComponentStatusChanged(id, componentstatus.NewEvent(componentstatus.StatusStarting))
		e.ComponentStatusChanged(id, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// pipelineNames returns the pipelines' names.
func pipelineNames(ps []pipeline.ID) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
