package zabbixexporter

import (
	"context"
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
