package zabbixexporter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// fakeClock is the exporter's clock in unit tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)

// testEnv is what a unit test sees of an exporter core besides the core.
type testEnv struct {
	clock *fakeClock
	logs  *observer.ObservedLogs
	tel   *componenttest.Telemetry
}

// newTestExporter runs an exporter core against a fake trapper, with the
// given config changes.
func newTestExporter(t *testing.T, srv interface{ Addr() string }, change func(*Config)) (*zabbixExporter, testEnv) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	cfg.Discovery.ItemDelay = 10 * time.Second
	// Values that triggers read go with the others once Zabbix takes a job
	// type's values; the tests of holding them for the triggers set it.
	cfg.Discovery.TriggerDelay = 0
	if change != nil {
		change(cfg)
	}
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zap.DebugLevel)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	e, err := newExporter(cfg, set)
	require.NoError(t, err)
	clock := &fakeClock{now: t0}
	e.now = clock.Now
	require.NoError(t, e.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, e.Shutdown(context.Background())) })
	return e, testEnv{clock: clock, logs: logs, tel: tel}
}

// newRealZabbixExporter runs an exporter core against the harness's real
// Zabbix, which loads its configuration every second: items of new job
// types are ready after 3 s, their triggers a sync later.
func newRealZabbixExporter(tb testing.TB, z *zabbixtest.Server, change func(*Config)) *zabbixExporter {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{z.Trapper}
	cfg.Discovery.ItemDelay = 3 * time.Second
	cfg.Discovery.TriggerDelay = 2 * time.Second
	if change != nil {
		change(cfg)
	}
	e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(tb, err)
	require.NoError(tb, e.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, e.Shutdown(context.Background())) })
	return e
}

// counter is the value of one of the exporter's counters; 0 when it was
// never recorded.
func (env testEnv) counter(t *testing.T, name string) int64 {
	t.Helper()
	m, err := env.tel.GetMetric("otelcol_" + name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, name)
	var n int64
	for _, dp := range sum.DataPoints {
		n += dp.Value
	}
	return n
}

// pendingLogs is what the exporter helper would retry after err; it fails
// the test when err is not a retryable partial error.
func pendingLogs(t *testing.T, err error) plog.Logs {
	t.Helper()
	require.Error(t, err)
	require.False(t, consumererror.IsPermanent(err), "retryable: %v", err)
	var le consumererror.Logs
	require.ErrorAs(t, err, &le)
	return le.Data()
}

// deliverAll pushes ld, and then what is pending, as the exporter helper's
// retry would, until everything is delivered; for tests against a real
// Zabbix, which creates items in its own time.
func deliverAll(tb testing.TB, e *zabbixExporter, ld plog.Logs) {
	tb.Helper()
	ctx := context.Background()
	testcollector.WaitFor(tb, time.Minute, "Zabbix to take every value", func() bool {
		err := e.pushLogs(ctx, ld)
		var le consumererror.Logs
		switch {
		case err == nil:
			return true
		case errors.As(err, &le) && !consumererror.IsPermanent(err):
			ld = le.Data()
			return false
		}
		tb.Fatalf("delivering: %v", err)
		return false
	})
}

// event describes one lifecycle log record.
type event struct {
	site, app, etype, id, parent, key, sub, kind, status string
	at                                                   time.Time
	metrics                                              map[string]float64
	extra                                                map[string]string
}

func logsOf(events ...event) plog.Logs {
	ld := plog.NewLogs()
	for _, ev := range events {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(semconv.AttrServiceName, ev.app)
		rl.Resource().Attributes().PutStr(semconv.AttrSiteID, ev.site)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ev.at))
		lr.SetEventName(semconv.EventName(ev.etype, ev.kind))
		a := lr.Attributes()
		a.PutStr(semconv.AttrEntityType, ev.etype)
		a.PutStr(semconv.AttrEntityID, ev.id)
		if ev.parent != "" {
			a.PutStr(semconv.AttrParentID, ev.parent)
		}
		if ev.key != "" {
			a.PutStr(semconv.AttrBusinessKey, ev.key)
		}
		if ev.sub != "" {
			a.PutStr(semconv.AttrSubKey, ev.sub)
		}
		a.PutStr(semconv.AttrEventKind, ev.kind)
		if ev.status != "" {
			a.PutStr(semconv.AttrStatus, ev.status)
		}
		if semconv.IsTerminal(ev.kind) {
			if o := semconv.OutcomeOf(ev.status); o != "" {
				a.PutStr(semconv.AttrOutcome, o)
			}
		}
		for k, v := range ev.metrics {
			a.PutDouble(semconv.MetricPrefix+k, v)
		}
		for k, v := range ev.extra {
			a.PutStr(k, v)
		}
	}
	return ld
}

// byKey indexes values by host and key; the last value wins.
func byKey(values []trappertest.Value) map[string]trappertest.Value {
	out := map[string]trappertest.Value{}
	for _, v := range values {
		out[v.Host+" "+v.Key] = v
	}
	return out
}

// fakeAddr is an endpoint served by the test itself.
type fakeAddr struct{ addr string }

func (a *fakeAddr) Addr() string { return a.addr }
