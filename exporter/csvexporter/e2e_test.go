package csvexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// samplePayloads are the v1 sample bodies (testdata/v1, copied from the
// shared samples) in the order they are posted, with the path for each.
var samplePayloads = []struct{ file, path string }{
	{"python-started.json", "/v1/event"},
	{"python-subjob-finished.json", "/v1/event"},
	{"python-job-failed.json", "/v1/event"},
	{"python-batch-array.json", "/v1/events/batch"},
	{"sdk03-batch-object.json", "/v1/events/batch"},
	{"c-flat.json", "/v1/event"},
	{"java-camel.json", "/v1/event"},
	{"r-flat.json", "/v1/event"},
	{"business-app-nested-no-key.json", "/v1/event"},
}

// e2eConfig writes the rows of the samples, dated October 2025, to files of
// their own days whatever the date today: no event-time window.
func e2eConfig(port int, dir string, storage bool) string {
	queue := "rotation:\n      event_time_window: {past: 0s, future: 0s}\n    sending_queue:\n      num_consumers: 1"
	extensions := "[]"
	if storage {
		queue += "\n      storage: file_storage"
		extensions = "[file_storage]"
	}
	return fmt.Sprintf(`
extensions:
  file_storage:
    directory: %[2]s/queue
    create_directory: true
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
exporters:
  csv:
    events:
      path: %[2]s/out/wafer_events_%%Y%%m%%d.csv
    entities:
      path: %[2]s/out/wafer_entities_%%Y%%m%%d.csv
    flush_interval: 100ms
    %[3]s
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 200ms
  csv/jsonl:
    format: jsonl
    events:
      path: %[2]s/out/wafer_events_%%Y%%m%%d.jsonl
    entities:
      path: %[2]s/out/wafer_entities_%%Y%%m%%d.jsonl
    flush_interval: 0s
    %[3]s
service:
  extensions: %[4]s
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [csv, csv/jsonl]
    traces:
      receivers: [wafermonitor]
      exporters: [csv, csv/jsonl]
  telemetry:
    metrics:
      level: none
`, port, dir, queue, extensions)
}

func postSample(t *testing.T, port int, file, path string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "v1", file))
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s answered %s", file, resp.Status)
}

// TestEndToEndSamples posts every sample payload to the real collector and
// compares the files the csv exporter wrote with golden copies, then reads
// them back with Go and Python.
func TestEndToEndSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	dir := t.TempDir()
	port := testcollector.FreePort(t)
	c := testcollector.Start(t, e2eConfig(port, dir, false), testcollector.Options{
		Dir: dir, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", port),
	})
	for _, p := range samplePayloads {
		postSample(t, port, p.file, p.path)
	}
	out := filepath.Join(dir, "out")
	// 11 events, 6 of them terminal: wait until all are in every file.
	testcollector.WaitFor(t, 30*time.Second, "all rows written", func() bool {
		return countLines(out, ".jsonl", "wafer_events") == 11 && countLines(out, ".jsonl", "wafer_entities") == 6
	})
	c.Stop() // flushes the buffered csv rows

	names := listDir(t, out)
	goldenDir := filepath.Join("testdata", "golden", "e2e")
	if *update {
		require.NoError(t, os.RemoveAll(goldenDir))
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		for _, name := range names {
			require.NoError(t, os.WriteFile(filepath.Join(goldenDir, name), []byte(readFile(t, filepath.Join(out, name))), 0o600))
		}
	}
	assert.Equal(t, listDir(t, goldenDir), names)
	var pyArgs []string
	for _, name := range names {
		assert.Equal(t, readFile(t, filepath.Join(goldenDir, name)), readFile(t, filepath.Join(out, name)), name)
		if strings.HasSuffix(name, ".csv") {
			pyArgs = append(pyArgs, "csv:,:"+filepath.Join(out, name))
		} else {
			pyArgs = append(pyArgs, "jsonl::"+filepath.Join(out, name))
		}
	}

	// Every CSV row reads back the same in Go and Python, and matches its JSON Lines twin.
	python := runPython(t, pyArgs...)
	for i, name := range names {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		goRows := goReadCSV(t, filepath.Join(out, name), ',')
		var pyRows [][]string
		require.NoError(t, json.Unmarshal(python[i], &pyRows))
		assert.Equal(t, pyRows, goRows, name)
		var twin []map[string]any
		require.NoError(t, json.Unmarshal(python[i+1], &twin), "%s has a .jsonl twin", name)
		require.Len(t, twin, len(goRows)-1, name)
		for r, row := range goRows[1:] {
			for col, cell := range row {
				key := goRows[0][col]
				assert.Equal(t, cell, jsonCell(t, twin[r][key]), "%s row %d column %s", name, r+1, key)
			}
		}
	}
}

// jsonCell is how a JSON Lines value appears in the CSV file.
func jsonCell(t *testing.T, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return string(appendFloat(nil, x))
	case bool:
		return fmt.Sprint(x)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestEndToEndUnwritableDirectory: rows that cannot be written stay in the
// persistent queue, the collector keeps running, and once the directory is
// usable again (here after a restart) every row is written.
func TestEndToEndUnwritableDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// A file where the output directory should be: not writable, even for root.
	require.NoError(t, os.WriteFile(out, []byte("blocker"), 0o600))
	port := testcollector.FreePort(t)
	health := fmt.Sprintf("http://127.0.0.1:%d/v1/health", port)
	c := testcollector.Start(t, e2eConfig(port, dir, true), testcollector.Options{Dir: dir, HealthURL: health})
	postSample(t, port, "python-batch-array.json", "/v1/events/batch")
	testcollector.WaitFor(t, 30*time.Second, "the write error in the log", func() bool {
		return strings.Contains(c.Output(), "cannot write "+out)
	})
	resp, err := http.Get(health)
	require.NoError(t, err)
	resp.Body.Close()
	assert.False(t, c.Exited(), "the collector keeps running")
	c.Stop()

	require.NoError(t, os.Remove(out))
	testcollector.Start(t, e2eConfig(port, dir, true), testcollector.Options{Dir: dir, HealthURL: health})
	testcollector.WaitFor(t, 30*time.Second, "the queued rows written after the restart", func() bool {
		return countLines(out, ".jsonl", "wafer_events") == 3 && countLines(out, ".csv", "wafer_events") == 4
	})
}

// countLines counts the lines of the files in dir with the prefix and suffix.
func countLines(dir, suffix, prefix string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return -1
		}
		n += bytes.Count(data, []byte("\n"))
	}
	return n
}

// TestEndToEndJobRollups runs the jobhierarchy processor before the
// exporter: the job's row carries the roll-ups of its subjob.
func TestEndToEndJobRollups(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	dir := t.TempDir()
	port := testcollector.FreePort(t)
	config := fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
processors:
  jobhierarchy:
    watchdog:
      enabled: false
exporters:
  csv:
    format: jsonl
    events:
      path: %[2]s/out/events.jsonl
    entities:
      path: %[2]s/out/entities.jsonl
    flush_interval: 0s
service:
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [csv]
    traces:
      receivers: [wafermonitor]
      processors: [jobhierarchy]
      exporters: [csv]
  telemetry:
    metrics:
      level: none
`, port, dir)
	testcollector.Start(t, config, testcollector.Options{Dir: dir, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", port)})
	for _, file := range []string{"python-started.json", "python-subjob-finished.json", "python-job-failed.json"} {
		postSample(t, port, file, "/v1/event")
	}
	out := filepath.Join(dir, "out", "entities.jsonl")
	var job map[string]any
	testcollector.WaitFor(t, 30*time.Second, "the job's row", func() bool {
		data, err := os.ReadFile(out)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var row map[string]any
			if json.Unmarshal([]byte(line), &row) == nil && row["entity_type"] == "job" {
				job = row
				return true
			}
		}
		return false
	})
	assert.Equal(t, "failed", job["status"])
	assert.Equal(t, 1.0, job["subjobs_total"])
	assert.Equal(t, 1.0, job["subjobs_succeeded"])
	assert.Equal(t, 1.25, job["subjobs_cpu_user_s_sum"])
	assert.Equal(t, 412.5, job["subjobs_mem_max_mb_max"])
	assert.NotNil(t, job["job_outcome"])
}
