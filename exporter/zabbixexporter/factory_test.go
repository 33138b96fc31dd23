package zabbixexporter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
	"github.com/wafermonitor/wafermonitor/internal/statustest"
)

// The logs, traces and metrics exporters of one configuration share one
// core (what was announced, the job types' state); it lives until the last
// of them shuts down.
func TestOneCorePerConfiguration(t *testing.T) {
	srv := trappertest.Start(t, nil)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	logs, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	traces, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	other := f.CreateDefaultConfig().(*Config)
	other.Endpoints = []string{srv.Addr()}
	metrics, err := f.CreateMetrics(ctx, set, other)
	require.NoError(t, err)

	core, ok := cores.Load(cfg)
	require.True(t, ok)
	otherCore, ok := cores.Load(other)
	require.True(t, ok)
	assert.NotSame(t, core, otherCore)

	host := componenttest.NewNopHost()
	for _, c := range []component.Component{logs, traces, metrics} {
		require.NoError(t, c.Start(ctx, host))
	}
	require.NoError(t, logs.Shutdown(ctx))
	still, ok := cores.Load(cfg)
	require.True(t, ok, "the traces exporter still uses the core")
	assert.Same(t, core, still)
	require.NoError(t, traces.Shutdown(ctx))
	_, ok = cores.Load(cfg)
	assert.False(t, ok, "shut down with its last user")
	require.NoError(t, metrics.Shutdown(ctx))
	_, ok = cores.Load(other)
	assert.False(t, ok)
}

// A batch that waits for new items does not keep the collector from
// stopping: the exporter helper's retry gives it up to the queue.
func TestShutdownWhileWaitingForItems(t *testing.T) {
	srv := trappertest.Start(t, nil)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	cfg.Discovery.ItemDelay = time.Hour
	cfg.RetryConfig.MaxElapsedTime = 2 * time.Hour
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	ev := event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-1", kind: "started", status: "running", at: t0}
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsOf(ev)))
	require.Eventually(t, func() bool { return len(srv.Values()) == 1 }, 10*time.Second, time.Millisecond, "the announcement")

	done := make(chan error, 1)
	go func() { done <- exp.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown waited for the batch")
	}
	assert.Len(t, srv.Values(), 1, "the waiting values were not sent")
}

// Values given up are reported: a recoverable-error status event and the
// exporter health (the receiver's health endpoint says degraded) while the
// job type is rejected; OK again once Zabbix takes its values.
func TestRejectedValuesAreReported(t *testing.T) {
	srv := trappertest.Start(t, nil)
	srv.SetRefuse(func(v trappertest.Value) bool { return v.Key != "wafer.discovery" })
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	cfg.Discovery.ItemDelay = 0
	cfg.Discovery.MaxRefusedTime = 0
	cfg.Discovery.Interval = time.Hour
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("zabbix", "rejects")
	ctx := context.Background()
	exp, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	host := statustest.NewHost()
	require.NoError(t, exp.Start(ctx, host))
	defer func() { require.NoError(t, exp.Shutdown(ctx)) }()
	clock := &fakeClock{now: t0}
	core, ok := cores.Load(cfg)
	require.True(t, ok)
	core.now = clock.Now

	ev := event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-1", kind: "started", status: "running", at: t0}
	err = exp.ConsumeLogs(ctx, logsOf(ev))
	require.ErrorIs(t, err, errValuesRejected)
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.Statuses())
	assert.ErrorContains(t, host.Events()[0].Err(), `litho lot-1 (job) on host "fab1-litho"`)

	clock.Advance(time.Hour)
	srv.SetRefuse(nil)
	require.NoError(t, exp.ConsumeLogs(ctx, logsOf(ev)))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.Statuses())
}

func TestNotStarted(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{"127.0.0.1:1"}
	e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	_, err = e.send(context.Background(), []zabbixsender.Value{{Host: "h", Key: "k"}})
	require.Error(t, err)
	assert.False(t, errors.Is(err, errItemsPending))
	require.NoError(t, e.Shutdown(context.Background()))
}

// One zabbix exporter in a logs and a traces pipeline stores every finished
// entity twice: the collector's log says so, once.
func TestLogsAndTracesPipelinesWarn(t *testing.T) {
	f := NewFactory()
	ctx := context.Background()
	tests := []struct {
		name    string
		signals []string
		warns   int
	}{
		{"logs", []string{"logs"}, 0},
		{"logs and metrics", []string{"logs", "metrics"}, 0},
		{"logs and traces", []string{"logs", "traces"}, 1},
		{"traces, logs and a second logs pipeline", []string{"traces", "logs", "logs"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.Endpoints = []string{"127.0.0.1:10051"}
			core, logs := observer.New(zap.WarnLevel)
			set := exportertest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			var created []component.Component
			for _, s := range tt.signals {
				var c component.Component
				var err error
				switch s {
				case "logs":
					c, err = f.CreateLogs(ctx, set, cfg)
				case "traces":
					c, err = f.CreateTraces(ctx, set, cfg)
				case "metrics":
					c, err = f.CreateMetrics(ctx, set, cfg)
				}
				require.NoError(t, err)
				created = append(created, c)
			}
			warnings := logs.FilterMessageSnippet("a logs and a traces pipeline").All()
			assert.Len(t, warnings, tt.warns)
			for _, c := range created {
				require.NoError(t, c.Shutdown(ctx))
			}
		})
	}
}
