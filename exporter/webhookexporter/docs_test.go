package webhookexporter

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/localapitest"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// docsExamples are the collector configurations in docs/webhook.md.
func docsExamples(t *testing.T) [][]byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhook.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	require.Len(t, blocks, 3)
	var out [][]byte
	for _, b := range blocks {
		out = append(out, b[1])
	}
	return out
}

// TestDocsExamplesValidate runs `otelcol-wafermonitor validate` on every
// collector configuration in docs/webhook.md.
func TestDocsExamplesValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	bin := testcollector.Binary(t)
	for i, example := range docsExamples(t) {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, example, 0o600))
			cmd := exec.Command(bin, "validate", "--config", path)
			cmd.Env = append(os.Environ(), "LOCALAPI_PASSWORD=pw", "LOCALAPI_WEBHOOK_SECRET=s", "ALERTS_TOKEN=t",
				"ALERTS_WEBHOOK_SECRET=s", "REPORTS_API_KEY=k")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "docs/webhook.md example %d:\n%s", i+1, out)
		})
	}
}

// TestDocsLocalAPIExampleRuns runs the Local API example of docs/webhook.md
// with the real collector against a stand-in that answers as the old Local
// API does (bare arrays only, failed events inside a 200, a NOT NULL
// business key, 10 minutes of skew at most, Python 3.10's fromisoformat).
// The clients send events without business keys, hours-old events of a
// backlog, and events the Local API fails inside a batch: all are stored.
func TestDocsLocalAPIExampleRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	api := localapitest.Start(t)
	api.FailNextInBatches(3)
	dir := t.TempDir()
	example := filepath.Join(dir, "localapi.yaml")
	require.NoError(t, os.WriteFile(example, docsExamples(t)[0], 0o600))
	v1Port, otlpPort := testcollector.FreePort(t), testcollector.FreePort(t)
	// Only what a test must change: loopback ports and its own directories.
	override := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %[1]s/queue
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[2]d
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[3]d
exporters:
  webhook/localapi:
    dead_letter:
      path: %[1]s/dead.jsonl
`, dir, v1Port, otlpPort)
	receiver := "http://127.0.0.1:" + strconv.Itoa(v1Port)
	testcollector.Start(t, override, testcollector.Options{
		ConfigFiles: []string{example},
		Env:         []string{"LOCAL_API_BASE=" + api.URL, "LOCALAPI_PASSWORD=pw"},
		HealthURL:   receiver + "/v1/health",
	})

	now := time.Now().UTC()
	events := []map[string]any{
		// The Python client: a business key, the time with +00:00.
		v1Map("a0000000-0000-4000-8000-000000000001", "job", "a1b2c3d4-0000-4000-8000-000000000001", "", "lot-4711", "started", now.Format("2006-01-02T15:04:05.999999-07:00")),
		v1Map("a0000000-0000-4000-8000-000000000002", "subjob", "c3a9e1f0-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000001", "lot-4711", "finished", now.Format(time.RFC3339)),
		// A backlog from a client's spool, three hours old, with Z.
		v1Map("a0000000-0000-4000-8000-000000000003", "job", "a1b2c3d4-0000-4000-8000-000000000002", "", "lot-4712", "finished", now.Add(-3*time.Hour).Format(time.RFC3339Nano)),
	}
	// The flat C client: no business key.
	flat := map[string]any{
		"idempotency_key": "a0000000-0000-4000-8000-000000000004", "site_id": "fab1", "app_name": "metrology-c",
		"entity_type": 0, "entity_id": "aaaaaaaa-0000-4000-8000-000000000001", "event_kind": 3,
		"timestamp": float64(now.Unix()), "status": "success", "metrics": map[string]any{"duration_seconds": 12.5},
	}
	for _, ev := range append(events, flat) {
		postJSON(t, receiver+"/v1/ingest/events", ev)
	}

	testcollector.WaitFor(t, 60*time.Second, "every event stored by the Local API", func() bool { return len(api.Events()) == 4 })
	assert.Equal(t, []string{"database is busy", "database is busy", "database is busy"}, api.Refusals(),
		"only the three events failed on purpose inside a batch")
	stored := storedEvents(t, api)
	for key, ev := range stored {
		require.NotNil(t, ev.Entity.BusinessKey, key)
		_, err := localapitest.FromISOFormat(ev.Event.At)
		assert.NoError(t, err, key)
	}
	assert.Equal(t, "aaaaaaaa-0000-4000-8000-000000000001", *stored["a0000000-0000-4000-8000-000000000004"].Entity.BusinessKey)
	backlog := stored["a0000000-0000-4000-8000-000000000003"]
	assert.Equal(t, "lot-4712", *backlog.Entity.BusinessKey)
	original, err := localapitest.FromISOFormat(backlog.Event.Metadata.(map[string]any)["original_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, now.Add(-3*time.Hour), original, time.Millisecond)
	assert.Positive(t, api.Requests()[localapitest.SinglePath], "events failed inside a 200 are resent alone")
	_, err = os.Stat(filepath.Join(dir, "dead.jsonl"))
	assert.NoError(t, err)
	assert.Empty(t, testcollector.ReadJSONLines(t, filepath.Join(dir, "dead.jsonl")), "nothing refused for good")
}

// v1Map is one canonical v1 event as the Python client sends it.
func v1Map(key, typ, id, parent, businessKey, kind, at string) map[string]any {
	ev := v1event.Event{
		IdempotencyKey: key, SiteID: "fab1",
		App:    v1event.App{Name: "litho-scheduler", Version: "1.4.2"},
		Entity: v1event.Entity{Type: typ, ID: id, ParentID: v1event.Optional(parent), BusinessKey: v1event.Optional(businessKey)},
		Event:  v1event.Body{Kind: kind, At: at, Status: map[string]string{"started": "running"}[kind], Metrics: map[string]float64{}, Metadata: map[string]any{}},
	}
	if kind == "finished" {
		ev.Event.Status = "succeeded"
		ev.Event.Metrics["duration_s"] = 93.2
	}
	b, _ := json.Marshal(ev)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
