package zabbixexporter

import (
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
)

// testSameSecondAcrossRequests: n subjobs of one job type, whose items
// exist, finish in the same whole second (the times old clients send) and
// are reported each in a request of its own, so each is a batch of its own
// at the exporter (the collector's queue does not batch). Zabbix keeps one
// value per item, clock and ns: every subjob's values must be in the
// history, each at its own ns of that second.
func testSameSecondAcrossRequests(t *testing.T, z *zabbixtest.Server, hostID string, port int, job, lot string) {
	t.Helper()
	const n = 8
	sub := `["litho-scheduler","` + lot + `","subjob"]`
	at := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	clock := strconv.FormatInt(at.Unix(), 10)
	var want []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("e3a9e1f0-0000-4000-8000-%012d", i)
		want = append(want, strconv.Itoa(2000+i))
		postEvents(t, port, v1("subjob", id, job, lot, fmt.Sprintf("wafer-%02d", 50+i), "finished", "succeeded", at,
			fmt.Sprintf(`{"duration_s":%d}`, 2000+i)))
	}
	inSecond := func(key string) []zabbixtest.Value {
		it, ok := z.Item(hostID, key+sub)
		if !ok {
			return nil
		}
		var out []zabbixtest.Value
		for _, v := range z.History(it) {
			if v.Clock == clock {
				out = append(out, v)
			}
		}
		return out
	}
	var stored []zabbixtest.Value
	defer func() {
		if t.Failed() {
			t.Logf("durations stored at %s: %v", at.Format(time.RFC3339), stored)
		}
	}()
	testcollector.WaitFor(t, 60*time.Second, fmt.Sprintf("%d durations at %s", n, at.Format(time.RFC3339)), func() bool {
		stored = inSecond("wafer.duration")
		return len(stored) >= n
	})
	var got []string
	ns := map[string]bool{}
	for _, v := range stored {
		got = append(got, v.Value)
		ns[v.NS] = true
	}
	sort.Strings(got)
	assert.Equal(t, want, got, "one duration per subjob")
	assert.Len(t, ns, n, "each at its own ns")
	testcollector.WaitFor(t, 30*time.Second, fmt.Sprintf("%d completions at %s", n, at.Format(time.RFC3339)), func() bool {
		return len(inSecond("wafer.completed")) == n
	})
}
