package webhookexporter

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// startDeadLetter opens a dead-letter file of its own, not shared.
func startDeadLetter(t *testing.T, cfg DeadLetterConfig) *deadLetterFile {
	t.Helper()
	dl := newDeadLetter(cfg)
	require.NoError(t, dl.Start(t.Context(), componenttest.NewNopHost()))
	return dl
}

func readDeadLetters(t *testing.T, path string) []deadLetterEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []deadLetterEntry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var e deadLetterEntry
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		out = append(out, e)
	}
	return out
}

func TestDeadLetterBatch(t *testing.T) {
	logs, _ := sampleSignals(t, "python-batch-array.json")
	rec := newRecorder(t, func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("schema mismatch"))
	})
	cfg := configFor(rec.URL)
	cfg.Mode = ModeBatch
	cfg.BatchEnvelope = EnvelopeObject
	cfg.DeadLetter.Path = filepath.Join(t.TempDir(), "sub", "dead.jsonl")
	e := startExporter(t, cfg)
	err := e.pushLogs(t.Context(), logs)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	lines := readDeadLetters(t, cfg.DeadLetter.Path)
	require.Len(t, lines, 1)
	l := lines[0]
	assert.Equal(t, 3, l.Count)
	assert.Equal(t, rec.URL, l.Endpoint)
	assert.Equal(t, "v1", l.Format)
	assert.Equal(t, "batch", l.Mode)
	assert.Equal(t, "application/json", l.ContentType)
	assert.Equal(t, fixedNow.Format(time.RFC3339Nano), l.Time)
	assert.Contains(t, l.Error, "answered HTTP 400: schema mismatch")
	var payload struct {
		Events []v1event.Event `json:"events"`
		Count  int             `json:"count"`
	}
	require.NoError(t, json.Unmarshal(l.Payload, &payload))
	assert.Equal(t, 3, payload.Count)
	assert.Equal(t, "55555555-5555-4555-8555-555555555555", payload.Events[2].IdempotencyKey)
}

func TestDeadLetterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dead.jsonl")
	dl := startDeadLetter(t, DeadLetterConfig{Path: path, MaxSizeMB: 1, MaxBackups: 2})
	payload := json.RawMessage(`"` + strings.Repeat("x", 200*1024) + `"`)
	for i := range 20 {
		require.NoError(t, dl.write(deadLetterEntry{Error: "rejected " + strconv.Itoa(i), Payload: payload}))
	}
	require.NoError(t, dl.Shutdown(t.Context()))
	files, err := filepath.Glob(filepath.Join(dir, "dead.jsonl*"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{path, path + ".1", path + ".2"}, files)
	// Five ~200 KiB lines fit in 1 MiB: the newest file holds the last
	// lines, the backups the ones before, in order.
	var errs []string
	for _, f := range []string{path + ".2", path + ".1", path} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.LessOrEqual(t, info.Size(), int64(1024*1024))
		for _, e := range readDeadLetters(t, f) {
			errs = append(errs, e.Error)
		}
	}
	require.Len(t, errs, 15)
	assert.Equal(t, "rejected 5", errs[0])
	assert.Equal(t, "rejected 19", errs[14])

	// Reopening appends to the existing file.
	dl = startDeadLetter(t, DeadLetterConfig{Path: path, MaxSizeMB: 1, MaxBackups: 2})
	require.NoError(t, dl.write(deadLetterEntry{Error: "again", Payload: json.RawMessage(`{}`)}))
	require.NoError(t, dl.Shutdown(t.Context()))
	require.NoError(t, dl.Shutdown(t.Context()))
	assert.Error(t, dl.write(deadLetterEntry{Payload: json.RawMessage(`{}`)}))
}

func TestDeadLetterMaxAge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dead.jsonl")
	old := fixedNow.Add(-72 * time.Hour)
	for i := 1; i <= 3; i++ {
		b := path + "." + strconv.Itoa(i)
		require.NoError(t, os.WriteFile(b, []byte("{}\n"), 0o600))
		if i >= 2 {
			require.NoError(t, os.Chtimes(b, old, old))
		}
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("x", 1024*1024)+"\n"), 0o600))
	dl := startDeadLetter(t, DeadLetterConfig{Path: path, MaxSizeMB: 1, MaxAgeDays: 1})
	dl.now = func() time.Time { return fixedNow }
	require.NoError(t, dl.write(deadLetterEntry{Payload: json.RawMessage(`{}`)}))
	require.NoError(t, dl.Shutdown(t.Context()))
	files, err := filepath.Glob(filepath.Join(dir, "dead.jsonl*"))
	require.NoError(t, err)
	// path.1 became path.2 (recent, kept); the old ones became .3 and .4 and went.
	assert.ElementsMatch(t, []string{path, path + ".1", path + ".2"}, files)
}

func TestDeadLetterBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cfg := configFor("http://127.0.0.1:1/")
	cfg.DeadLetter.Path = filepath.Join(file, "dead.jsonl") // a file is not a directory
	e, err := newExporter(cfg, newSettings())
	require.NoError(t, err)
	err = e.start(t.Context(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.ErrorContains(t, err, "dead_letter::path")
	require.NoError(t, e.shutdown(t.Context()))
}
