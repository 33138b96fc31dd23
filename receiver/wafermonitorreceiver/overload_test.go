package wafermonitorreceiver

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
)

func TestHealthDegradedWhileAnExporterFails(t *testing.T) {
	ts := startServer(t, serverOptions{})
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var failing []exporterhealth.Failure
	ts.recv.health.failingExporters = func() []exporterhealth.Failure { return failing }

	assert.Equal(t, "ok", ts.do(t, http.MethodGet, "/v1/health", nil, nil).body["status"])

	failing = []exporterhealth.Failure{{Exporter: "webhook (logs)", Error: "connection refused", Since: since}}
	h := ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, http.StatusOK, h.code)
	assert.Equal(t, "degraded", h.body["status"])
	assert.Equal(t, []any{map[string]any{"exporter": "webhook (logs)", "error": "connection refused", "since": "2026-01-01T00:00:00Z"}}, h.body["failing_exporters"])

	failing = nil
	h = ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, "ok", h.body["status"])
	assert.NotContains(t, h.body, "failing_exporters")
}

func TestCountBatchItems(t *testing.T) {
	for _, tt := range []struct {
		body string
		n    int
		ok   bool
	}{
		{`[{},{},{}]`, 3, true},
		{`[{},{},{},{},{},{}]`, 5, true}, // stops after limit+1
		{`{"site":"x","events":[1,2]}`, 2, true},
		{`{"events":{}}`, 0, false},
		{`{"a":1}`, 0, false},
		{`[{},`, 0, false},
		{`"x"`, 0, false},
		{``, 0, false},
	} {
		n, ok := countBatchItems([]byte(tt.body), 4)
		assert.Equal(t, tt.n, n, tt.body)
		assert.Equal(t, tt.ok, ok, tt.body)
	}
}

func TestHugeBatchRefusedBeforeDecoding(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) { c.MaxBatchEvents = 10 }})
	body := []byte("[" + strings.Repeat("{},", precountBytes) + "{}]")
	a := ts.post(t, "/v1/ingest/batch", body)
	require.Equal(t, http.StatusRequestEntityTooLarge, a.code)
	assert.Contains(t, a.body["detail"].([]any)[0].(map[string]any)["msg"], "more than 10 events")
}

// FuzzCountBatchItems: whenever the full decoding finds a batch, the
// pre-count agrees with it (up to its limit).
func FuzzCountBatchItems(f *testing.F) {
	for _, s := range []string{`[{},{}]`, `{"events":[1,2,3]}`, `{"x":[1],"events":[]}`, `[`, `{"events":`, `[[1],{"a":[2]}]`} {
		f.Add([]byte(s))
	}
	const limit = 5
	f.Fuzz(func(t *testing.T, body []byte) {
		n, ok := countBatchItems(body, limit)
		v, perr := parseJSON(body)
		if perr != nil {
			return
		}
		switch v := v.(type) {
		case []any:
			if !ok || n != min(len(v), limit+1) {
				t.Fatalf("counted %d (%v), decoded %d", n, ok, len(v))
			}
		case map[string]any:
			if list, isList := v["events"].([]any); isList && (!ok || n != min(len(list), limit+1)) {
				// A repeated "events" key: the decoder keeps the last, the
				// count the first; both are bounded.
				// Keys written with escapes are left to the decoder.
				if !bytes.Contains(body, []byte(`\\`)) && bytes.Count(body, []byte(`"events"`)) == 1 {
					t.Fatalf("counted %d (%v), decoded %d", n, ok, len(list))
				}
			}
		}
	})
}

// BenchmarkCountBatchItems compares the pre-count of a large batch with its
// full parse (the count runs only on bodies over precountBytes).
func BenchmarkCountBatchItems(b *testing.B) {
	item := `{"idempotency_key":"k","site_id":"fab1","app":{"name":"a","version":"1"},"entity":{"type":"job","id":"00000000-0000-4000-8000-000000000001"},"event":{"kind":"progress","at":"2026-01-02T03:04:05Z","status":"running","metrics":{"p":0.5},"metadata":{}}}`
	body := []byte("[" + strings.TrimSuffix(strings.Repeat(item+",", 5000), ",") + "]")
	b.Run("count", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			countBatchItems(body, 10000)
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			_, _ = parseJSON(body)
		}
	})
}
