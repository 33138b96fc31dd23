package zabbixexporter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap/zapcore"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
)

// triggerValuesOf are the values of the items that triggers read, in the
// order they reached the server.
func triggerValuesOf(values []trappertest.Value) []string {
	var out []string
	for _, v := range values {
		item, _, _ := strings.Cut(v.Key, "[")
		if readByTrigger(item) {
			out = append(out, item+"="+v.Value)
		}
	}
	return out
}

// Discovery later than item_delay: Zabbix refuses the values until it has
// created and loaded the items, and it loads the triggers, which discovery
// creates after the items, possibly one configuration sync later. A value
// that arrives before its trigger is loaded is stored but never evaluated
// by it (a job type whose only failure came then would never raise its
// problem), and the same value sent again is dropped as a duplicate without
// an evaluation either (TestEndToEndRealZabbix shows both on a real
// server). So the values that triggers read wait until Zabbix took the
// others, and then trigger_delay, and go oldest first, those of later
// batches behind them.
func TestTriggerValuesWaitForTheirTriggers(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Discovery.TriggerDelay = 10 * time.Second
	})
	ctx := context.Background()
	const job2 = "a1b2c3d4-e5f6-4789-8abc-000000000002"
	srv.SetRefuse(func(v trappertest.Value) bool { return v.Key != "wafer.discovery" })

	first := logsOf(
		lotEvent("lot-1", jobID, "started", "running", t0),
		lotEvent("lot-1", jobID, "finished", "failed", t0.Add(time.Second)),
	)
	first = pendingLogs(t, e.pushLogs(ctx, first))
	assert.Empty(t, srv.Stored()[1:], "refused: discovery is late")

	// The items exist now; the triggers may not be loaded yet.
	srv.SetRefuse(nil)
	env.clock.Advance(time.Second)
	err := e.pushLogs(ctx, first)
	assert.Contains(t, err.Error(), "Throttle (10s)", "back when trigger_delay has passed")
	first = pendingLogs(t, err)
	assert.Equal(t, []string{jobID, jobID}, entityIDs(first))
	stored := byKey(srv.Stored())
	args := `["litho","lot-1","job"]`
	assert.Equal(t, "1", stored["fab1-litho wafer.failures"+args].Value, "the values no trigger reads")
	assert.Empty(t, triggerValuesOf(srv.Stored()), "status and outcome wait")

	// A later batch of the job type: its status waits behind the others.
	env.clock.Advance(4 * time.Second)
	err = e.pushLogs(ctx, logsOf(lotEvent("lot-1", job2, "started", "running", t0.Add(2*time.Second))))
	assert.Contains(t, err.Error(), "Throttle (6s)")
	second := pendingLogs(t, err)
	assert.Empty(t, triggerValuesOf(srv.Stored()))
	assert.Equal(t, "1", byKey(srv.Stored())["fab1-litho wafer.running"+args].Value, "the later batch's other values went")

	// The later batch comes back first: every held value goes, oldest first.
	env.clock.Advance(6 * time.Second)
	require.NoError(t, e.pushLogs(ctx, second))
	assert.Equal(t, []string{"wafer.status=running", "wafer.status=failed", "wafer.outcome=failure", "wafer.status=running"},
		triggerValuesOf(srv.Stored()))
	requests := len(srv.Requests())
	require.NoError(t, e.pushLogs(ctx, first), "sent already")
	assert.Len(t, srv.Requests(), requests, "nothing sent twice")

	// From now on they go with the others, at once.
	require.NoError(t, e.pushLogs(ctx, logsOf(lotEvent("lot-1", job2, "finished", "succeeded", t0.Add(time.Minute)))))
	assert.Len(t, srv.Requests(), requests+1)
	assert.Equal(t, "success", byKey(srv.Stored())["fab1-litho wafer.outcome"+args].Value)
}

// When Zabbix takes a new job type's values at the first try after
// item_delay, discovery was on time, triggers included: nothing waits.
func TestTriggerValuesGoAtOnceWhenDiscoveryIsOnTime(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) { c.Discovery.TriggerDelay = time.Minute })
	ctx := context.Background()
	ld := pendingLogs(t, e.pushLogs(ctx, logsOf(lotEvent("lot-1", jobID, "finished", "failed", t0))))
	env.clock.Advance(10 * time.Second)
	require.NoError(t, e.pushLogs(ctx, ld))
	assert.Equal(t, []string{"wafer.status=failed", "wafer.outcome=failure"}, triggerValuesOf(srv.Stored()))
}

// Values held for their triggers are not held for ever when the items go
// away meanwhile: they are sent, refused, and given up after
// max_refused_time like any other.
func TestTriggerValuesWhenItemsGoAway(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Discovery.TriggerDelay = 10 * time.Second
		c.Discovery.MaxRefusedTime = 20 * time.Second
	})
	ctx := context.Background()
	refuseAll := func(v trappertest.Value) bool { return v.Key != "wafer.discovery" }
	srv.SetRefuse(refuseAll)
	ld := pendingLogs(t, e.pushLogs(ctx, logsOf(lotEvent("lot-1", jobID, "finished", "failed", t0))))
	srv.SetRefuse(nil)
	ld = pendingLogs(t, e.pushLogs(ctx, ld))
	assert.Empty(t, triggerValuesOf(srv.Stored()))

	srv.SetRefuse(refuseAll)
	var err error
	for i := 0; i < 4; i++ {
		env.clock.Advance(10 * time.Second)
		err = e.pushLogs(ctx, ld)
		var le consumererror.Logs
		if consumererror.IsPermanent(err) || !errors.As(err, &le) {
			break
		}
		ld = le.Data()
	}
	require.ErrorIs(t, err, errValuesRejected)
	assert.Equal(t, []string{"wafer.status=failed", "wafer.outcome=failure"}, triggerValuesOf(srv.Values()[len(srv.Values())-2:]), "sent before they were given up")
	assert.Equal(t, int64(2), env.counter(t, "exporter_zabbix_values_rejected"))
	assert.Len(t, env.logs.FilterLevelExact(zapcore.WarnLevel).All(), 1)
}

// Every item that a trigger prototype of the template reads as its values
// arrive is one whose values wait for the triggers (readByTrigger); nodata()
// is evaluated by the server's timer, not by arriving values.
func TestTriggerItemsAreHeld(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("template", "wafermonitor_zabbix6.yaml"))
	require.NoError(t, err)
	function := regexp.MustCompile(`([a-z_]+)\(/[^/]+/([A-Za-z0-9_.]+)\[`)
	expression := regexp.MustCompile(`(?m)^\s*(?:recovery_)?expression: (.*)$`)
	seen := map[string]bool{}
	for _, expr := range expression.FindAllStringSubmatch(string(src), -1) {
		for _, m := range function.FindAllStringSubmatch(expr[1], -1) {
			fn, item := m[1], m[2]
			if fn == "nodata" {
				continue
			}
			seen[item] = true
			assert.True(t, readByTrigger(item), "%s(%s) in %s: add %s to readByTrigger", fn, item, expr[1], item)
		}
	}
	assert.Equal(t, map[string]bool{itemStatus: true, itemOutcome: true, itemRollupComplete: true}, seen)
}
