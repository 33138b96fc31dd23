package csvexporter

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// v1Event is one canonical v1 event; a subjob when parent is set.
func v1Event(key, entity, parent, kind string, at time.Time) string {
	typ, parentJSON, metrics := "job", "null", ""
	if parent != "" {
		typ, parentJSON = "subjob", fmt.Sprintf("%q", parent)
	}
	if kind == "finished" {
		metrics = `"duration_s":1.5,"cpu_user_s":0.5`
	}
	return fmt.Sprintf(`{"idempotency_key":%q,"site_id":"fab1","app":{"name":"dates","version":"1"},`+
		`"entity":{"type":%q,"id":%q,"parent_id":%s},`+
		`"event":{"kind":%q,"at":%q,"status":"succeeded","metrics":{%s},"metadata":{}}}`,
		key, typ, entity, parentJSON, kind, at.Format(time.RFC3339Nano), metrics)
}

func postV1(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", msg)
}

// outputRows reads every CSV file of one output (prefix) in dir, open or
// gzipped, and returns its rows as column → value, with the file name under
// "_file". Files that do not parse yet (being written) are skipped.
func outputRows(t *testing.T, dir, prefix string) []map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var rows []map[string]string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || (!strings.HasSuffix(name, ".csv") && !strings.HasSuffix(name, ".csv.gz")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue // compressed and removed meanwhile
		}
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				continue
			}
			if data, err = io.ReadAll(zr); err != nil {
				continue
			}
		}
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(records) == 0 {
			continue
		}
		for _, rec := range records[1:] {
			row := cellsByName(records[0], rec)
			row["_file"] = name
			rows = append(rows, row)
		}
	}
	return rows
}

// outputFiles lists the files of one output in dir.
func outputFiles(t *testing.T, dir, prefix string) []string {
	t.Helper()
	var names []string
	for _, name := range listDir(t, dir) {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names
}

// TestEndToEndEventDatesBounded runs otelcol-config.yaml, as shipped, with
// one batch of 5,000 events on 5,000 different days up to today (finished
// subjobs: an event row and an entity row each). A row outside the default
// event-time window (a week back, a day ahead) goes to today's out_of_range
// file with its own time kept, so the batch opens a bounded number of
// files, every row is written, and a normal event sent right after it is
// written promptly. Files left from old periods (by their name, whatever
// their modification time) are removed by retention.
func TestEndToEndEventDatesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	config := testcollector.DefaultConfig(t)
	dataDir, runDir := t.TempDir(), t.TempDir()
	env, ports := testcollector.DefaultConfigEnv(t, config, dataDir)
	now := time.Now().UTC()

	// What an earlier run left behind: files of long-gone days, written
	// recently (as a flood of old dates did), and one of two days ago.
	oldPeriods := []string{"wafer_events_20000101.csv.gz", "wafer_events_20100615.csv", "wafer_entities_20000102.csv.gz"}
	recent := "wafer_events_" + now.AddDate(0, 0, -2).Format("20060102") + ".csv.gz"
	for _, name := range append(oldPeriods, recent) {
		var buf bytes.Buffer
		content := []byte("timestamp,idempotency_key\r\n2000-01-01T00:00:00Z,left-behind\r\n")
		if strings.HasSuffix(name, ".gz") {
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(content)
			require.NoError(t, zw.Close())
			content = buf.Bytes()
		}
		require.NoError(t, os.WriteFile(filepath.Join(dataDir, name), content, 0o600))
	}

	testcollector.Start(t, config, testcollector.Options{
		Dir: runDir, Env: env, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"]),
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_V1_ENDPOINT"])
	job := uuid.NewString()

	// written waits for the row of one event and returns how long it took.
	written := func(key string) time.Duration {
		start := time.Now()
		testcollector.WaitFor(t, 120*time.Second, "the row of event "+key, func() bool {
			for _, r := range outputRows(t, dataDir, "wafer_events") {
				if r["idempotency_key"] == key {
					return true
				}
			}
			return false
		})
		return time.Since(start)
	}

	// A normal event alone: how long a row takes with this configuration.
	key := "baseline-" + uuid.NewString()
	postV1(t, base+"/v1/event", v1Event(key, job, "", "started", time.Now()))
	baseline := written(key)

	// Today and the 4,999 days before it, in an order that jumps around.
	const days = 5000
	events := make([]string, days)
	keys := map[string]time.Time{}
	for i := range events {
		at := now.AddDate(0, 0, -(i*7919)%days)
		k := fmt.Sprintf("day-%05d", i)
		keys[k] = at
		events[i] = v1Event(k, uuid.NewString(), job, "finished", at)
	}
	postV1(t, base+"/v1/ingest/batch", "["+strings.Join(events, ",")+"]")
	key = "normal-" + uuid.NewString()
	postV1(t, base+"/v1/event", v1Event(key, job, "", "progress", time.Now()))
	delay := written(key)

	testcollector.WaitFor(t, 120*time.Second, "every row of the batch", func() bool {
		n := 0
		for _, r := range outputRows(t, dataDir, "wafer_events") {
			if _, ok := keys[r["idempotency_key"]]; ok {
				n++
			}
		}
		return n >= days
	})
	eventFiles, entityFiles := outputFiles(t, dataDir, "wafer_events"), outputFiles(t, dataDir, "wafer_entities")
	fmt.Printf("E2E %s: a normal row took %s alone, %s after a batch of %d events on %d different days; files: %d events, %d entities\n",
		t.Name(), baseline.Round(time.Millisecond), delay.Round(time.Millisecond), days, days, len(eventFiles), len(entityFiles))

	// The default window (7 days back, 1 ahead) bounds the day files to
	// about ten per output, plus the day's out_of_range file.
	assert.LessOrEqual(t, len(eventFiles), 12, "event files: %v", eventFiles)
	assert.LessOrEqual(t, len(entityFiles), 12, "entity files: %v", entityFiles)
	// Writing 5,000 rows into a dozen files takes a fraction of a second;
	// the 5,000 files it took before delayed the next row by 42 s.
	assert.Less(t, delay, baseline+20*time.Second, "the normal row waited behind the batch")

	// Every row is written once, with its own time: the last 8 days in
	// their days' files, the others in today's out_of_range file.
	oldest := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -7)
	seen := map[string]bool{}
	for _, r := range outputRows(t, dataDir, "wafer_events") {
		at, ok := keys[r["idempotency_key"]]
		if !ok {
			continue
		}
		assert.False(t, seen[r["idempotency_key"]], "row %s written twice", r["idempotency_key"])
		seen[r["idempotency_key"]] = true
		want := "wafer_events_" + at.Format("20060102")
		if at.Before(oldest) {
			want = "wafer_events_" + now.Format("20060102") + "_out_of_range"
		}
		// A day whose file was closed already continues in NAME-1.csv.
		assert.Regexp(t, "^"+want+`(-\d+)?\.csv$`, r["_file"], "row %s", r["idempotency_key"])
		got, err := time.Parse(time.RFC3339Nano, r["timestamp"])
		if assert.NoError(t, err) {
			assert.True(t, got.Equal(at), "row %s: timestamp %s, sent %s", r["idempotency_key"], got, at)
		}
	}
	assert.Len(t, seen, days)
	entities := 0
	for _, r := range outputRows(t, dataDir, "wafer_entities") {
		if r["parent_id"] == job && r["entity_type"] == "subjob" {
			entities++
		}
	}
	assert.Equal(t, days, entities, "entity rows of the batch's subjobs")

	// Retention (30 days in otelcol-config.yaml) goes by the period in the
	// name too: the old-period files are gone, the recent one is kept.
	left := listDir(t, dataDir)
	for _, name := range oldPeriods {
		assert.NotContains(t, left, name)
	}
	assert.Contains(t, left, recent)
}
