package zabbixexporter

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const (
	jobID  = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	sub1ID = "c3a9e1f0-0000-4000-8000-00000000002a"
	sub2ID = "c3a9e1f0-0000-4000-8000-00000000002b"
)

func TestLogsLifecycleValues(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Legacy.Enabled = true
	})
	ctx := context.Background()
	at := t0.Add(1500 * time.Millisecond)
	evs := []event{
		{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-4711", kind: "started", status: "running", at: t0},
		{site: "fab1", app: "litho", etype: "subjob", id: sub1ID, parent: jobID, key: "lot-4711", sub: "w1", kind: "started", status: "running", at: t0},
		{site: "fab1", app: "litho", etype: "subjob", id: sub2ID, parent: jobID, key: "lot-4711", sub: "w2", kind: "started", status: "running", at: t0},
		{site: "fab1", app: "litho", etype: "subjob", id: sub1ID, parent: jobID, key: "lot-4711", sub: "w1", kind: "finished", status: "failed", at: at,
			metrics: map[string]float64{"duration_s": 93.2, "cpu_user_s": 1.25, "cpu_system_s": 0.1, "mem_max_mb": 412.5}},
		{site: "fab1", app: "litho", etype: "subjob", id: sub2ID, parent: jobID, key: "lot-4711", sub: "w2", kind: "stalled", status: "running", at: at},
	}
	require.NoError(t, e.pushLogs(ctx, logsOf(evs...)))
	values := srv.Values()
	assert.Equal(t, "wafer.discovery", values[0].Key)
	var lld []map[string]string
	require.NoError(t, json.Unmarshal([]byte(values[0].Value), &lld))
	assert.Len(t, lld, 2)

	sub := `["litho","lot-4711","subjob"]`
	h := "fab1-litho "
	got := byKey(values)
	assert.Equal(t, "stalled", got[h+"wafer.status"+sub].Value)
	assert.Equal(t, "failure", got[h+"wafer.outcome"+sub].Value)
	assert.Equal(t, "93.2", got[h+"wafer.duration"+sub].Value)
	assert.Equal(t, "1.25", got[h+"wafer.cpu.user"+sub].Value)
	assert.Equal(t, "0.1", got[h+"wafer.cpu.system"+sub].Value)
	assert.Equal(t, "412.5", got[h+"wafer.memory.max"+sub].Value)
	assert.Equal(t, "1", got[h+"wafer.failures"+sub].Value)
	assert.Equal(t, "1", got[h+"wafer.stalls"+sub].Value)
	assert.Equal(t, "1", got[h+"wafer.completed"+sub].Value)
	assert.Equal(t, "1", got[h+"wafer.running"+sub].Value, "w1 ended, w2 still open")
	assert.Equal(t, at.Unix(), got[h+"wafer.outcome"+sub].Clock)
	assert.Equal(t, 500, got[h+"wafer.outcome"+sub].NS/int(time.Millisecond), "the event's milliseconds")

	// Values of one item at the same time get distinct ns.
	seen := map[string]bool{}
	for _, v := range values {
		k := v.Host + v.Key + time.Unix(v.Clock, int64(v.NS)).String()
		assert.False(t, seen[k], "duplicate clock/ns for %s", v.Key)
		seen[k] = true
	}

	// The old sidecar's keys, on their own host.
	legacy := byKey(values)
	assert.Equal(t, "93.2", legacy["wafermonitor wafer.subjob.finished"].Value)
	assert.Equal(t, "1", legacy["wafermonitor wafer.subjob.stalled"].Value)
	assert.Equal(t, "1", legacy["wafermonitor wafer.job.started"].Value)
}

func TestTimeoutAndRecovered(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ld := logsOf(event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-1", kind: "timeout", status: "timed_out", at: t0})
	require.NoError(t, e.pushLogs(context.Background(), ld))
	got := byKey(srv.Values())
	args := `["litho","lot-1","job"]`
	assert.Equal(t, "timed_out", got["fab1-litho wafer.status"+args].Value)
	assert.Equal(t, "timeout", got["fab1-litho wafer.outcome"+args].Value)
	assert.Equal(t, "1", got["fab1-litho wafer.timeouts"+args].Value)
	assert.Equal(t, "0", got["fab1-litho wafer.running"+args].Value)
}

// TestMissedRun: a schedule's missed run sets the status the template's
// missed trigger reads and counts one missed value; nothing is running.
func TestMissedRun(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ld := logsOf(event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "nightly", kind: semconv.KindMissed, status: semconv.StatusMissed, at: t0})
	require.NoError(t, e.pushLogs(context.Background(), ld))
	got := byKey(srv.Values())
	args := `["litho","nightly","job"]`
	assert.Equal(t, "missed", got["fab1-litho wafer.status"+args].Value)
	assert.Equal(t, "1", got["fab1-litho wafer.missed"+args].Value)
	assert.Equal(t, "1", got["fab1-litho wafer.events"+args].Value)
	assert.NotContains(t, got, "fab1-litho wafer.running"+args)
	assert.NotContains(t, got, "fab1-litho wafer.completed"+args)
}

func TestRecordsThatAreNotEventsAreIgnored(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, nil)
	ld := logsOf(event{site: "fab1", app: "litho", etype: "job", id: jobID, kind: "started", at: t0})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Remove(semconv.AttrEventKind)
	require.NoError(t, e.pushLogs(context.Background(), ld))
	assert.Empty(t, srv.Requests())
}

func TestReannounceAfterInterval(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.Interval = time.Hour
		c.Discovery.ItemDelay = 0
	})
	ev := event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-1", kind: "started", status: "running", at: t0}
	require.NoError(t, e.pushLogs(context.Background(), logsOf(ev)))
	env.clock.Advance(time.Minute)
	require.NoError(t, e.pushLogs(context.Background(), logsOf(ev)))
	env.clock.Advance(time.Hour)
	require.NoError(t, e.pushLogs(context.Background(), logsOf(ev)))
	n := 0
	for _, v := range srv.Values() {
		if v.Key == "wafer.discovery" {
			n++
		}
	}
	assert.Equal(t, 2, n)
}

func TestDiscoveryKeepsAllJobTypesOfAHost(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	for _, key := range []string{"lot-1", "lot-2"} {
		ev := event{site: "fab1", app: "litho", etype: "job", id: jobID, key: key, kind: "started", status: "running", at: t0}
		require.NoError(t, e.pushLogs(context.Background(), logsOf(ev)))
	}
	var last []map[string]string
	for _, v := range srv.Values() {
		if v.Key == "wafer.discovery" {
			last = nil
			require.NoError(t, json.Unmarshal([]byte(v.Value), &last))
		}
	}
	assert.Len(t, last, 2, "the second announcement lists both job types")
}

func TestServerErrors(t *testing.T) {
	ev := event{site: "fab1", app: "litho", etype: "job", id: jobID, key: "lot-1", kind: "started", status: "running", at: t0}

	t.Run("unreachable is retryable", func(t *testing.T) {
		srv := trappertest.Start(t, nil)
		addr := srv.Addr()
		e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
		srv.Close()
		err := e.pushLogs(context.Background(), logsOf(ev))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err))
		// Nothing was announced: the next attempt announces again.
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		srv2 := trappertest.Start(t, ln)
		require.NoError(t, e.pushLogs(context.Background(), logsOf(ev)))
		assert.Equal(t, "wafer.discovery", srv2.Values()[0].Key)
	})

	t.Run("refused is permanent", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = trappertest.ReadRequest(conn)
				_, _ = conn.Write(trappertest.Frame(`{"response":"failed","info":"invalid JSON"}`))
				conn.Close()
			}
		}()
		defer ln.Close()
		e, _ := newTestExporter(t, &fakeAddr{ln.Addr().String()}, func(c *Config) { c.Discovery.ItemDelay = 0 })
		err = e.pushLogs(context.Background(), logsOf(ev))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))
	})
}

func TestTraces(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(semconv.AttrServiceName, "litho")
	rs.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("job lot-4711")
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(90 * time.Second)))
	a := span.Attributes()
	a.PutStr(semconv.AttrEntityType, "job")
	a.PutStr(semconv.AttrEntityID, jobID)
	a.PutStr(semconv.AttrBusinessKey, "lot-4711")
	a.PutStr(semconv.AttrStatus, "succeeded")
	a.PutStr(semconv.AttrJobOutcome, "failure")
	a.PutDouble(semconv.AttrCPUUserS, 3)
	// Spans that are not entities are left alone.
	rs.ScopeSpans().At(0).Spans().AppendEmpty().SetName("GET /")

	require.NoError(t, e.pushTraces(context.Background(), td))
	got := byKey(srv.Values())
	args := `["litho","lot-4711","job"]`
	assert.Equal(t, "succeeded", got["fab1-litho wafer.status"+args].Value)
	assert.Equal(t, "failure", got["fab1-litho wafer.outcome"+args].Value, "the rolled-up outcome wins")
	assert.Equal(t, "90", got["fab1-litho wafer.duration"+args].Value, "from the span's times")
	assert.Equal(t, "3", got["fab1-litho wafer.cpu.user"+args].Value)
	assert.Equal(t, "1", got["fab1-litho wafer.failures"+args].Value)
	assert.Equal(t, t0.Add(90*time.Second).Unix(), got["fab1-litho wafer.status"+args].Clock)
}

func cumulativeMetrics(start, ts time.Time, completedOK, completedFailed int64, durCount uint64, durSum float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(semconv.AttrServiceName, "litho")
	rm.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName(semconv.MetricEntityCompleted)
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for status, v := range map[string]int64{"succeeded": completedOK, "failed": completedFailed} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.Attributes().PutStr(semconv.AttrEntityType, "subjob")
		dp.Attributes().PutStr(semconv.AttrStatus, status)
		dp.SetIntValue(v)
	}
	h := ms.AppendEmpty()
	h.SetName(semconv.MetricEntityDuration)
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := hist.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.Attributes().PutStr(semconv.AttrEntityType, "subjob")
	dp.Attributes().PutStr(semconv.AttrStatus, "succeeded")
	dp.SetCount(durCount)
	dp.SetSum(durSum)
	return md
}

func TestMetricsDeltas(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, nil)
	ctx := context.Background()
	md1 := cumulativeMetrics(t0, t0.Add(time.Minute), 3, 1, 3, 30)

	// First batch: announced and held back, deltas not committed.
	require.ErrorIs(t, e.pushMetrics(ctx, md1), errItemsPending)
	env.clock.Advance(10 * time.Second)
	require.NoError(t, e.pushMetrics(ctx, md1))
	args := `["litho","_all","subjob"]`
	got := byKey(srv.Values())
	assert.Equal(t, "4", got["fab1-litho wafer.completed"+args].Value)
	assert.Equal(t, "1", got["fab1-litho wafer.failures"+args].Value)
	assert.Equal(t, "10", got["fab1-litho wafer.duration"+args].Value)

	// The same batch again (a replay) adds nothing.
	n := len(srv.Values())
	require.NoError(t, e.pushMetrics(ctx, md1))
	assert.Len(t, srv.Values(), n)

	// The next point counts the interval only.
	require.NoError(t, e.pushMetrics(ctx, cumulativeMetrics(t0, t0.Add(2*time.Minute), 5, 1, 5, 70)))
	got = byKey(srv.Values()[n:])
	assert.Equal(t, "2", got["fab1-litho wafer.completed"+args].Value)
	assert.Equal(t, "0", got["fab1-litho wafer.failures"+args].Value)
	assert.Equal(t, "20", got["fab1-litho wafer.duration"+args].Value)
}

func TestMetricsDeltasNotCommittedOnFailure(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	srv.SetReply(func(trappertest.Request) *trappertest.Counts { return nil })
	md := cumulativeMetrics(t0, t0.Add(time.Minute), 3, 1, 3, 30)
	require.Error(t, e.pushMetrics(context.Background(), md))
	srv.SetReply(func(r trappertest.Request) *trappertest.Counts { return &trappertest.Counts{Processed: len(r.Data)} })
	require.NoError(t, e.pushMetrics(context.Background(), md))
	got := byKey(srv.Values())
	assert.Equal(t, "4", got[`fab1-litho wafer.completed["litho","_all","subjob"]`].Value)
}

// A job's rolled-up outcome comes with wafer.rollup.complete: 0 when the
// jobhierarchy processor lost some of its subjobs' roll-ups.
func TestRollupComplete(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ev := func(lot string) event {
		return event{site: "fab1", app: "litho", etype: "job", id: jobID, key: lot, kind: "finished", status: "succeeded", at: t0,
			extra: map[string]string{semconv.AttrJobOutcome: "success"}}
	}
	ld := logsOf(ev("lot-incomplete"), ev("lot-complete"), event{site: "fab1", app: "litho", etype: "subjob", id: sub1ID, key: "lot-sub", kind: "finished", status: "succeeded", at: t0})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutBool(semconv.AttrJobRollupComplete, false)
	require.NoError(t, e.pushLogs(context.Background(), ld))
	got := byKey(srv.Values())
	assert.Equal(t, "0", got[`fab1-litho wafer.rollup.complete["litho","lot-incomplete","job"]`].Value)
	assert.Equal(t, "1", got[`fab1-litho wafer.rollup.complete["litho","lot-complete","job"]`].Value, "absent means complete")
	_, ok := got[`fab1-litho wafer.rollup.complete["litho","lot-sub","subjob"]`]
	assert.False(t, ok, "only with a rolled-up outcome")

	// From spans as well.
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(semconv.AttrServiceName, "litho")
	rs.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Minute)))
	span.Attributes().PutStr(semconv.AttrEntityType, "job")
	span.Attributes().PutStr(semconv.AttrBusinessKey, "lot-span")
	span.Attributes().PutStr(semconv.AttrJobOutcome, "failure")
	span.Attributes().PutBool(semconv.AttrJobRollupComplete, false)
	require.NoError(t, e.pushTraces(context.Background(), td))
	assert.Equal(t, "0", byKey(srv.Values())[`fab1-litho wafer.rollup.complete["litho","lot-span","job"]`].Value)
}
