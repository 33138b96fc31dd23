package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// equivalenceCollector is a real collector whose wafermonitor and otlp
// receivers both write what they make into files: log records into logs,
// spans into traces.
type equivalenceCollector struct {
	col          *collector
	logs, traces string
}

func startEquivalenceCollector(t *testing.T) equivalenceCollector {
	dir := t.TempDir()
	ec := equivalenceCollector{
		col:  &collector{v1Port: testcollector.FreePort(t), otlpPort: testcollector.FreePort(t)},
		logs: filepath.Join(dir, "logs.jsonl"), traces: filepath.Join(dir, "traces.jsonl"),
	}
	testcollector.Start(t, fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file/logs:
    path: %s
    flush_interval: 100ms
  file/traces:
    path: %s
    flush_interval: 100ms
service:
  pipelines:
    logs:
      receivers: [wafermonitor, otlp]
      exporters: [file/logs]
    traces:
      receivers: [wafermonitor, otlp]
      exporters: [file/traces]
  telemetry:
    metrics:
      level: none
`, ec.col.v1Port, ec.col.otlpPort, ec.logs, ec.traces), testcollector.Options{HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", ec.col.v1Port)})
	return ec
}

// send sends the events of counter values first, first+1, … as one
// request of m in protocol p, the way the harness's requester does (with
// the request of their spans after it for otlp-json-spans).
func (ec equivalenceCollector) send(t *testing.T, p protocol, m mode, first uint64) {
	r := newRequester(http.DefaultClient, ec.col, p, m, new(atomic.Uint64), eventOf)
	_, err := r.send(context.Background(), nil, first)
	require.NoError(t, err, "%s, %d events from %d", p.name, m.events, first)
}

// The OTLP form of an event must be what the real collector's wafermonitor
// receiver makes of the same v1 event: both go through one collector into a
// file, and the log records must be equal but for the time the collector
// observed them.
func TestOTLPFormIsWhatTheReceiverMakesOfTheEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ec := startEquivalenceCollector(t)
	for _, first := range []uint64{0, 1} { // a started and a finished event
		for _, p := range protocols {
			ec.send(t, p, mode{events: 1}, first)
		}
	}

	want := 2 * len(protocols)
	var got []plog.Logs
	testcollector.WaitFor(t, 20*time.Second, fmt.Sprintf("%d log records in the file", want), func() bool {
		got = readLogs(t, ec.logs)
		return len(got) == want
	})
	byEvent := map[string][]plog.Logs{}
	for _, l := range got {
		key, ok := l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("wafer.event.idempotency_key")
		require.True(t, ok)
		byEvent[key.Str()] = append(byEvent[key.Str()], l)
	}
	require.Len(t, byEvent, 2)
	for key, logs := range byEvent {
		require.Len(t, logs, len(protocols), key)
		for _, other := range logs[1:] {
			require.NoError(t, plogtest.CompareLogs(logs[0], other, plogtest.IgnoreObservedTimestamp()), key)
		}
	}
}

// readLogs is every log record of the file as a plog.Logs of its own,
// with its resource and scope.
func readLogs(t *testing.T, path string) []plog.Logs {
	var all []plog.Logs
	for _, line := range testcollector.ReadJSONLines(t, path) {
		l, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			break // a line still being written
		}
		// One file line can carry records of several requests.
		for i := 0; i < l.ResourceLogs().Len(); i++ {
			for j := 0; j < l.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				for k := 0; k < l.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords().Len(); k++ {
					one := plog.NewLogs()
					rl := one.ResourceLogs().AppendEmpty()
					l.ResourceLogs().At(i).Resource().CopyTo(rl.Resource())
					sl := rl.ScopeLogs().AppendEmpty()
					l.ResourceLogs().At(i).ScopeLogs().At(j).Scope().CopyTo(sl.Scope())
					l.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords().At(k).CopyTo(sl.LogRecords().AppendEmpty())
					all = append(all, one)
				}
			}
		}
	}
	return all
}
