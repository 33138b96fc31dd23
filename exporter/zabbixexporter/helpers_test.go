package zabbixexporter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// fakeClock is the exporter's clock in unit tests.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock and runs the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	rest := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(c.now) {
			due = append(due, tm.f)
		} else {
			rest = append(rest, tm)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// AfterFunc registers f to run when Advance passes d from now.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) *time.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), f: f})
	return nil
}

// Timers is how many timers wait.
func (c *fakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type fakeTimer struct {
	at time.Time
	f  func()
}

var t0 = time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)

// newTestExporter runs an exporter core against a fake trapper, with the
// given config changes.
func newTestExporter(t *testing.T, srv interface{ Addr() string }, change func(*Config)) (*zabbixExporter, *fakeClock, *observer.ObservedLogs) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	cfg.Discovery.ItemDelay = 10 * time.Second
	if change != nil {
		change(cfg)
	}
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zap.DebugLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	e, err := newExporter(cfg, set)
	require.NoError(t, err)
	clock := &fakeClock{now: t0}
	e.now = clock.Now
	e.afterFunc = clock.AfterFunc
	require.NoError(t, e.start(context.Background(), nil))
	t.Cleanup(e.shutdown)
	return e, clock, logs
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
