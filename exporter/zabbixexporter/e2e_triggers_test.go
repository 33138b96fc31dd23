package zabbixexporter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
)

// testTriggerAfterValue shows on the real server why values that triggers
// read wait for their triggers (discovery::trigger_delay): Zabbix 6.0
// evaluates a trigger only when a value of its item arrives, so a trigger
// loaded after the value (discovery saves the triggers after the items, in
// a transaction of their own, and a configuration sync can come between)
// ignores it; and the same value sent again (same clock and ns) is dropped
// as a duplicate ("skipped 1 duplicates") without an evaluation, so sending
// it again would not help. A new value after the trigger is loaded raises
// the problem.
func testTriggerAfterValue(t *testing.T, z *zabbixtest.Server) {
	const host = "fab1-triggers"
	hostID := z.CreateHost(host)
	// One call, one transaction: the server loads both items at one sync.
	z.Call("item.create", []map[string]any{
		{"hostid": hostID, "name": "outcome", "key_": "test.outcome", "type": 2, "value_type": 4},
		{"hostid": hostID, "name": "probe", "key_": "test.probe", "type": 2, "value_type": 4},
	}, nil)
	z.WaitAccepts(host, "test.probe", time.Minute)

	client, err := zabbixsender.New(zabbixsender.Config{Endpoints: []string{z.Trapper}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	ctx := context.Background()
	send := func(key, v string, at time.Time) {
		t.Helper()
		res, err := client.Send(ctx, []zabbixsender.Value{{Host: host, Key: key, Value: v, Clock: at.Unix(), NS: at.Nanosecond()}})
		require.NoError(t, err)
		require.Equal(t, 1, res.Processed, "%s=%s", key, v)
	}
	// probeRound waits until a probe value has passed history sync and
	// trigger evaluation: everything sent before has been processed.
	probe := 0
	probeRound := func() {
		t.Helper()
		probe++
		want := "1"
		if probe%2 == 0 {
			want = "0"
		}
		testcollector.WaitFor(t, time.Minute, "the probe trigger to follow the probe value", func() bool {
			send("test.probe", want, time.Now())
			return z.Firing(hostID, "probe") == (want == "1")
		})
	}

	at := time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789)
	send("test.outcome", "failure", at)
	z.Call("trigger.create", []map[string]any{
		{"description": "outcome failed", "expression": `last(/` + host + `/test.outcome)="failure"`},
		{"description": "probe", "expression": `last(/` + host + `/test.probe)="1"`},
	}, nil)
	probeRound() // the triggers are loaded
	probeRound()
	assert.False(t, z.Firing(hostID, "outcome failed"), "a value that arrived before its trigger was loaded is not evaluated")

	dropped := strings.Count(z.Log(), "skipped 1 duplicates")
	send("test.outcome", "failure", at)
	testcollector.WaitFor(t, time.Minute, "the server to drop the value sent again", func() bool {
		return strings.Count(z.Log(), "skipped 1 duplicates") > dropped
	})
	probeRound()
	assert.False(t, z.Firing(hostID, "outcome failed"), "the same value sent again is not evaluated either")

	send("test.outcome", "failure", at.Add(time.Second))
	testcollector.WaitFor(t, time.Minute, "a new value to raise the problem", func() bool {
		return z.Firing(hostID, "outcome failed")
	})
	it, ok := z.Item(hostID, "test.outcome")
	require.True(t, ok)
	assert.Len(t, z.History(it), 2, "the first value once, and the new one")
}

// testNewJobTypesAlert: new job types whose first value is a failure,
// announced to several hosts at once, with item_delay 0 so that Zabbix
// refuses their values until discovery has created the items, beside two
// busy CPUs: every one's "failed" problem is raised. With trigger_delay 0,
// the failures that Zabbix took while it had loaded the items but not yet
// the triggers raised none (20 and 35 of 50 triggers fired in two of four
// runs, the others missing for whole hosts: one discovery run each).
func testNewJobTypesAlert(t *testing.T, z *zabbixtest.Server) {
	const hosts, lots = 10, 5
	var ids []string
	for h := 0; h < hosts; h++ {
		ids = append(ids, z.CreateHost(fmt.Sprintf("fab1-alerts%d", h)))
	}
	for h := 0; h < hosts; h++ {
		z.WaitAccepts(fmt.Sprintf("fab1-alerts%d", h), "wafer.job.recovered", time.Minute)
	}
	e := newRealZabbixExporter(t, z, func(c *Config) { c.Discovery.ItemDelay = 0 })

	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	var evs []event
	for h := 0; h < hosts; h++ {
		for j := 0; j < lots; j++ {
			evs = append(evs, event{site: "fab1", app: fmt.Sprintf("alerts%d", h), etype: "job", id: fmt.Sprintf("f0000000-0000-4000-8000-%06d%06d", h, j),
				key: fmt.Sprintf("lot-%02d", j), kind: "finished", status: "failed", at: base.Add(time.Duration(j) * time.Millisecond)})
		}
	}
	deliverAll(t, e, logsOf(evs...))
	firing := func() []string {
		var names []string
		for _, id := range ids {
			for _, tr := range z.Triggers(id) {
				if tr.Value == "1" {
					names = append(names, tr.Name)
				}
			}
		}
		return names
	}
	var got []string
	defer func() {
		if t.Failed() {
			t.Logf("firing: %v", got)
		}
	}()
	testcollector.WaitFor(t, time.Minute, fmt.Sprintf("the %d failed triggers", hosts*lots), func() bool {
		got = firing()
		return len(got) == hosts*lots
	})
	for h := 0; h < hosts; h++ {
		for j := 0; j < lots; j++ {
			it, ok := z.Item(ids[h], fmt.Sprintf(`wafer.outcome["alerts%d","lot-%02d","job"]`, h, j))
			require.True(t, ok)
			assert.Len(t, z.History(it), 1, "sent once")
			assert.Contains(t, got, fmt.Sprintf("alerts%d lot-%02d (job) failed", h, j))
		}
	}
}
