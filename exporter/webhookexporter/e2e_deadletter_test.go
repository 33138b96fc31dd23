package webhookexporter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// TestE2EDeadLetterOneFileForBothPipelines runs the real collector with one
// webhook in the logs and the traces pipeline and an endpoint that refuses
// everything for good: every event's log record and span is dead-lettered
// into one file, rotated by one writer, so no file passes max_size_mb and
// no entry is lost to a rename the other writer did not see.
func TestE2EDeadLetterOneFileForBothPipelines(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	refusing := newRecorder(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.jsonl")
	recvPort := testcollector.FreePort(t)
	receiverURL := "http://127.0.0.1:" + strconv.Itoa(recvPort)
	config := fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
exporters:
  webhook:
    endpoint: %s
    format: cloudevents
    mode: batch
    max_batch_events: 50
    dead_letter:
      path: %s
      max_size_mb: 1
      max_backups: 0
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [webhook]
    traces:
      receivers: [wafermonitor]
      exporters: [webhook]
`, recvPort, refusing.URL, dead)
	testcollector.Start(t, config, testcollector.Options{Dir: dir, HealthURL: receiverURL + "/v1/health"})

	// The finished events of 1,000 jobs, about 2 MiB of dead letters: one
	// log record and one span each.
	const jobs = 1000
	events, _ := e2eEvents(2 * jobs)
	var finished []v1event.Event
	for i := 1; i < len(events); i += 2 {
		finished = append(finished, events[i])
	}
	for start := 0; start < jobs; start += 250 {
		postEvents(t, receiverURL, finished[start:start+250])
	}

	var byType map[string]int
	var files []string
	testcollector.WaitFor(t, 60*time.Second, "every log record and span in the dead-letter files", func() bool {
		byType, files = deadLettered(t, dead)
		return byType["finished"] == jobs && byType["completed"] == jobs
	})
	assert.Contains(t, files, dead+".1", "the file was rotated")
	for _, f := range files {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.LessOrEqual(t, info.Size(), int64(1<<20), "%s is over max_size_mb", f)
	}
	t.Logf("%d dead-letter files for %d log records and %d spans", len(files), byType["finished"], byType["completed"])
}

// deadLettered counts the items of the dead-letter files by the last part of
// their CloudEvents type (finished for log records, completed for spans).
func deadLettered(t *testing.T, path string) (map[string]int, []string) {
	t.Helper()
	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	counts := map[string]int{}
	for _, f := range files {
		for _, line := range testcollector.ReadJSONLines(t, f) {
			var e deadLetterEntry
			if json.Unmarshal(line, &e) != nil {
				continue // being written
			}
			var events []struct {
				Type string `json:"type"`
			}
			require.NoError(t, json.Unmarshal(e.Payload, &events))
			for _, ev := range events {
				counts[ev.Type[strings.LastIndex(ev.Type, ".")+1:]]++
			}
		}
	}
	return counts, files
}
