package zabbixexporter

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap/zapcore"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func lotEvent(lot, id, kind, status string, at time.Time) event {
	return event{site: "fab1", app: "litho", etype: "job", id: id, key: lot, kind: kind, status: status, at: at}
}

func entityIDs(ld plog.Logs) []string {
	var ids []string
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				v, _ := lrs.At(k).Attributes().Get(semconv.AttrEntityID)
				ids = append(ids, v.Str())
			}
		}
	}
	return ids
}

// statusValues are the values of wafer.status items.
func statusValues(values []trappertest.Value) []trappertest.Value {
	var out []trappertest.Value
	for _, v := range values {
		if strings.HasPrefix(v.Key, itemStatus+"[") {
			out = append(out, v)
		}
	}
	return out
}

// A new job type's values wait for its items without holding the queue
// worker: the attempt returns them as pending, with the time left, and the
// exporter helper's retry brings them back. Values of every batch that
// waited go out together, oldest first.
func TestNewJobTypeWaitsForItems(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, nil)
	ctx := context.Background()
	const job2 = "a1b2c3d4-e5f6-4789-8abc-000000000002"

	first := logsOf(lotEvent("lot-4711", jobID, "started", "running", t0))
	err := e.pushLogs(ctx, first)
	assert.ErrorIs(t, err, errItemsPending)
	assert.Contains(t, err.Error(), "Throttle (10s)", "the retry waits for item_delay")
	assert.Equal(t, []string{jobID}, entityIDs(pendingLogs(t, err)))
	values := srv.Values()
	require.Len(t, values, 1, "only the announcement")
	assert.Equal(t, "fab1-litho", values[0].Host)
	assert.Equal(t, "wafer.discovery", values[0].Key)
	var lld []map[string]string
	require.NoError(t, json.Unmarshal([]byte(values[0].Value), &lld))
	assert.Equal(t, []map[string]string{{"{#SITE}": "fab1", "{#APP}": "litho", "{#JOB}": "lot-4711", "{#TYPE}": "job"}}, lld)
	assert.Equal(t, int64(3), env.counter(t, "exporter_zabbix_values_deferred"), "events, status, running")

	// A second batch of the same job type, and one of a job type whose
	// items exist: that one goes out, the other waits 5 s more.
	env.clock.Advance(5 * time.Second)
	second := logsOf(
		lotEvent("lot-4711", jobID, "finished", "failed", t0.Add(time.Minute)),
		lotEvent("lot-4711", job2, "started", "running", t0.Add(time.Second)),
	)
	err = e.pushLogs(ctx, second)
	assert.Contains(t, err.Error(), "Throttle (5s)")
	second = pendingLogs(t, err)
	assert.Equal(t, []string{jobID, job2}, entityIDs(second))
	assert.Len(t, srv.Values(), 1)

	// The second batch comes back first: it sends the first one's values
	// too, in time order.
	env.clock.Advance(5 * time.Second)
	require.NoError(t, e.pushLogs(ctx, second))
	args := `["litho","lot-4711","job"]`
	var statuses []string
	for _, v := range statusValues(srv.Values()) {
		statuses = append(statuses, v.Value)
	}
	assert.Equal(t, []string{"running", "running", "failed"}, statuses, "oldest first, across batches")
	got := byKey(srv.Values()[1:])
	assert.Equal(t, t0.Add(time.Minute).Unix(), got["fab1-litho wafer.status"+args].Clock)
	requests := len(srv.Requests())

	// The first batch's values went out already.
	require.NoError(t, e.pushLogs(ctx, first))
	assert.Len(t, srv.Requests(), requests, "nothing sent twice")

	// From now on values go out at once.
	require.NoError(t, e.pushLogs(ctx, logsOf(lotEvent("lot-4711", jobID, "started", "running", t0.Add(2*time.Minute)))))
	assert.Len(t, srv.Requests(), requests+1)
}

// On a loaded server discovery can take longer than item_delay: Zabbix
// counts the values as failed. They are sent again, through the retry,
// until it takes them.
func TestRefusedValuesAreSentAgainUntilItemsExist(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ctx := context.Background()
	itemsExist := false
	srv.SetRefuse(func(v trappertest.Value) bool { return !itemsExist && v.Key != "wafer.discovery" })

	ld := logsOf(
		lotEvent("lot-1", jobID, "started", "running", t0),
		lotEvent("lot-1", jobID, "finished", "succeeded", t0.Add(time.Second)),
	)
	for i := 0; i < 3; i++ {
		err := e.pushLogs(ctx, ld)
		require.ErrorIs(t, err, errItemsPending)
		assert.NotContains(t, err.Error(), "Throttle", "the retry's own backoff")
		ld = pendingLogs(t, err)
		assert.Equal(t, []string{jobID, jobID}, entityIDs(ld))
		env.clock.Advance(30 * time.Second)
	}
	assert.Empty(t, srv.Stored()[1:])
	failed := env.counter(t, "exporter_zabbix_values_failed")
	// After the first refusal the values that triggers read (two statuses,
	// the outcome) wait until Zabbix takes the others.
	assert.Equal(t, int64(8+2*5), failed, "8 values, then twice the 5 that no trigger reads")
	assert.Empty(t, env.logs.FilterLevelExact(zapcore.WarnLevel).All(), "a refusal that is retried is not a warning")

	itemsExist = true
	srv.SetRefuse(func(trappertest.Value) bool { return false })
	require.NoError(t, e.pushLogs(ctx, ld))
	stored := byKey(srv.Stored())
	assert.Equal(t, "succeeded", stored[`fab1-litho wafer.status["litho","lot-1","job"]`].Value)
	assert.Equal(t, "success", stored[`fab1-litho wafer.outcome["litho","lot-1","job"]`].Value)
	assert.Len(t, srv.Stored(), 1+8, "the announcement and every value, once")
	assert.Zero(t, env.counter(t, "exporter_zabbix_values_rejected"))
}

// Values Zabbix keeps refusing (a host that does not exist, or is not
// linked to the template) are dropped after max_refused_time: counted,
// logged, and reported in health; the job type's later values are sent
// once each, without waiting, until discovery::interval has passed.
func TestRefusedValuesAreDroppedAfterMaxRefusedTime(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Discovery.MaxRefusedTime = time.Minute
	})
	ctx := context.Background()
	srv.SetRefuse(func(v trappertest.Value) bool { return strings.Contains(v.Key, "lot-bad") })
	const badID = "a1b2c3d4-e5f6-4789-8abc-00000000000b"

	err := e.pushLogs(ctx, logsOf(
		lotEvent("lot-good", jobID, "started", "running", t0),
		lotEvent("lot-bad", badID, "started", "running", t0),
	))
	ld := pendingLogs(t, err)
	assert.Equal(t, []string{badID}, entityIDs(ld), "the other job type's values were delivered")
	assert.Len(t, statusValues(srv.Stored()), 1)
	assert.NoError(t, e.jobs.rejection(env.clock.Now()))

	env.clock.Advance(59 * time.Second)
	ld = pendingLogs(t, e.pushLogs(ctx, ld))
	env.clock.Advance(time.Second)
	err = e.pushLogs(ctx, ld)
	require.ErrorIs(t, err, errValuesRejected)
	assert.True(t, consumererror.IsPermanent(err), "the exporter helper drops the batch")
	assert.Equal(t, int64(3), env.counter(t, "exporter_zabbix_values_rejected"))
	warnings := env.logs.FilterMessageSnippet("Zabbix kept refusing values of a job type").All()
	require.Len(t, warnings, 1)
	assert.Equal(t, "fab1-litho", warnings[0].ContextMap()["host"])
	assert.Equal(t, "litho lot-bad (job)", warnings[0].ContextMap()["job_type"])
	health := e.jobs.rejection(env.clock.Now())
	require.Error(t, health)
	assert.Contains(t, health.Error(), `litho lot-bad (job) on host "fab1-litho"`)

	// Rejected: sent once, dropped at once.
	requests := len(srv.Requests())
	err = e.pushLogs(ctx, logsOf(lotEvent("lot-bad", badID, "finished", "failed", t0.Add(time.Hour))))
	require.ErrorIs(t, err, errValuesRejected)
	assert.Len(t, srv.Requests(), requests+1)

	// After the interval the job type is announced again; once its host
	// exists the values go through.
	env.clock.Advance(time.Hour)
	srv.SetRefuse(nil)
	require.NoError(t, e.pushLogs(ctx, logsOf(lotEvent("lot-bad", badID, "started", "running", t0.Add(2*time.Hour)))))
	assert.NoError(t, e.jobs.rejection(env.clock.Now()))
	assert.Equal(t, "wafer.discovery", srv.Requests()[requests+1].Data[0].Key)
}

// Confirmed job types share requests; when Zabbix refuses values of such a
// request (an item was deleted, a host unlinked), their job types are sent
// again in requests of their own, which tell which job type it refuses.
// The one it takes was not refused: the values its triggers read do not
// wait for trigger_delay.
func TestRefusalInASharedRequestFindsTheJobType(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Discovery.TriggerDelay = time.Minute
	})
	ctx := context.Background()
	const badID = "a1b2c3d4-e5f6-4789-8abc-00000000000b"
	both := func(at time.Time) plog.Logs {
		return logsOf(lotEvent("lot-good", jobID, "progress", "running", at), lotEvent("lot-bad", badID, "progress", "running", at))
	}
	require.NoError(t, e.pushLogs(ctx, both(t0)))
	requests := len(srv.Requests())
	require.NoError(t, e.pushLogs(ctx, both(t0.Add(time.Second))))
	require.Len(t, srv.Requests(), requests+1, "confirmed: one request")

	srv.SetRefuse(func(v trappertest.Value) bool { return strings.Contains(v.Key, "lot-bad") })
	requests = len(srv.Requests())
	err := e.pushLogs(ctx, both(t0.Add(2*time.Second)))
	ld := pendingLogs(t, err)
	assert.Equal(t, []string{jobID, badID}, entityIDs(ld), "Zabbix does not say which failed")
	env.clock.Advance(5 * time.Second)
	ld = pendingLogs(t, e.pushLogs(ctx, ld))
	assert.Equal(t, []string{badID}, entityIDs(ld))
	assert.Len(t, srv.Requests(), requests+3, "the shared request, then one per job type")
	var goodStatus []trappertest.Value
	for _, v := range statusValues(srv.Stored()) {
		if strings.Contains(v.Key, "lot-good") {
			goodStatus = append(goodStatus, v)
		}
	}
	assert.Len(t, goodStatus, 3, "lot-good's three status values, each stored once")
}

// A request that cannot be delivered leaves the gathered values for the
// next attempt.
func TestUnreachableWhileSendingGatheredValues(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, nil)
	ctx := context.Background()
	ld := logsOf(lotEvent("lot-1", jobID, "started", "running", t0))
	ld = pendingLogs(t, e.pushLogs(ctx, ld))
	env.clock.Advance(10 * time.Second)
	srv.SetReply(func(trappertest.Request) *trappertest.Counts { return nil })
	err := e.pushLogs(ctx, ld)
	ld = pendingLogs(t, err)
	assert.NotErrorIs(t, err, errItemsPending, "an outage, not a wait for items")
	srv.SetReply(nil)
	require.NoError(t, e.pushLogs(ctx, ld))
	assert.Len(t, statusValues(srv.Stored()), 1)
}

// The old sidecar's keys have items of their own (the legacy template): a
// missing legacy host does not hold the discovered values back.
func TestLegacyKeysAreAJobTypeOfTheirOwn(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) {
		c.Discovery.ItemDelay = 0
		c.Legacy.Enabled = true
	})
	srv.SetRefuse(func(v trappertest.Value) bool { return v.Host == "wafermonitor" })
	ctx := context.Background()
	ld := pendingLogs(t, e.pushLogs(ctx, logsOf(lotEvent("lot-1", jobID, "started", "running", t0))))
	assert.Len(t, statusValues(srv.Stored()), 1, "the discovered values went through")
	for _, r := range srv.Requests() {
		for _, v := range r.Data {
			if v.Host == "wafermonitor" {
				assert.Len(t, r.Data, 1, "legacy keys in requests of their own")
			}
		}
	}
	srv.SetRefuse(nil)
	require.NoError(t, e.pushLogs(ctx, ld))
	stored := byKey(srv.Stored())
	assert.Equal(t, "1", stored["wafermonitor wafer.job.started"].Value)
	assert.Len(t, statusValues(srv.Stored()), 1, "the discovered values were not sent again")
}

func TestCapsAreCounted(t *testing.T) {
	ctx := context.Background()
	lots := func(at time.Time, lots ...string) plog.Logs {
		var evs []event
		for i, lot := range lots {
			evs = append(evs, lotEvent(lot, []string{jobID, sub1ID, sub2ID}[i], "started", "running", at))
		}
		return logsOf(evs...)
	}

	t.Run("job types", func(t *testing.T) {
		srv := trappertest.Start(t, nil)
		e, env := newTestExporter(t, srv, func(c *Config) {
			c.Discovery.ItemDelay = 0
			c.Discovery.MaxJobTypes = 2
		})
		require.NoError(t, e.pushLogs(ctx, lots(t0, "lot-1", "lot-2", "lot-3")))
		assert.Zero(t, env.counter(t, "exporter_zabbix_job_types_evicted"), "never one of the batch's own")
		require.NoError(t, e.pushLogs(ctx, lots(t0, "lot-4")))
		assert.Equal(t, int64(2), env.counter(t, "exporter_zabbix_job_types_evicted"))
	})

	t.Run("running entities", func(t *testing.T) {
		srv := trappertest.Start(t, nil)
		e, env := newTestExporter(t, srv, func(c *Config) {
			c.Discovery.ItemDelay = 0
			c.MaxRunningEntities = 1
		})
		require.NoError(t, e.pushLogs(ctx, lots(t0, "lot-1", "lot-2", "lot-3")))
		assert.Equal(t, int64(2), env.counter(t, "exporter_zabbix_running_entities_dropped"), "one entity remembered")
	})

	t.Run("held values", func(t *testing.T) {
		srv := trappertest.Start(t, nil)
		e, env := newTestExporter(t, srv, func(c *Config) { c.Discovery.MaxHeldValues = 4 })
		ld := lots(t0, "lot-1", "lot-2", "lot-3")
		require.ErrorIs(t, e.pushLogs(ctx, ld), errItemsPending)
		assert.Equal(t, int64(5), env.counter(t, "exporter_zabbix_values_ungathered"), "9 values, 4 held")
		// Every value still arrives: beyond the cap each batch sends its own.
		env.clock.Advance(10 * time.Second)
		require.NoError(t, e.pushLogs(ctx, ld))
		assert.Len(t, statusValues(srv.Stored()), 3)
		assert.Positive(t, env.counter(t, "exporter_zabbix_settled_evicted"))
	})
}
