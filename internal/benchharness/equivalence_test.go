package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// The OTLP form of an event must be what the real collector's wafermonitor
// receiver makes of the same v1 event: both go through one collector into a
// file, and the two log records must be equal but for the time the
// collector observed them.
func TestOTLPFormIsWhatTheReceiverMakesOfTheEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "logs.jsonl")
	v1Port, otlpPort := testcollector.FreePort(t), testcollector.FreePort(t)
	testcollector.Start(t, fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  pipelines:
    logs:
      receivers: [wafermonitor, otlp]
      exporters: [file]
  telemetry:
    metrics:
      level: none
`, v1Port, otlpPort, out), testcollector.Options{HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", v1Port)})

	for _, first := range []uint64{0, 1} { // a started and a finished event
		for _, p := range protocols {
			m := mode{events: 1}
			body := encodeEvents(p.enc, []benchEvent{eventOf(first)}, false)
			resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", p.port(&collector{v1Port: v1Port, otlpPort: otlpPort}), p.path(m.batch())),
				p.contentType, bytes.NewReader(body))
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode, p.name)
		}
	}

	var got []plog.Logs
	testcollector.WaitFor(t, 20*time.Second, "six log records in the file", func() bool {
		got = readLogs(t, out)
		n := 0
		for _, l := range got {
			n += l.LogRecordCount()
		}
		return n == 6
	})
	byEvent := map[string][]plog.Logs{}
	for _, l := range got {
		key, ok := l.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("wafer.event.idempotency_key")
		require.True(t, ok)
		byEvent[key.Str()] = append(byEvent[key.Str()], l)
	}
	require.Len(t, byEvent, 2)
	for key, logs := range byEvent {
		require.Len(t, logs, 3, key)
		for _, other := range logs[1:] {
			require.NoError(t, plogtest.CompareLogs(logs[0], other, plogtest.IgnoreObservedTimestamp()), key)
		}
	}
}

func readLogs(t *testing.T, path string) []plog.Logs {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var all []plog.Logs
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(sc.Bytes())
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
