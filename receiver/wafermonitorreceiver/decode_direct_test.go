package wafermonitorreceiver

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertSameDecode checks that the receiver's decoding of body (the direct
// path first) gives exactly what the generic path alone gives: events,
// status and problems. It tells whether the direct path took the body.
func assertSameDecode(t testing.TB, r *wafermonitorReceiver, body []byte, batch bool) bool {
	t.Helper()
	events, code, prob := r.decode(body, receiveTime, batch)
	gEvents, gCode, gProb := r.decodeGeneric(body, &decoder{now: receiveTime}, batch)
	require.Equal(t, gCode, code, "status")
	require.Equal(t, gProb, prob, "problems")
	require.Equal(t, gEvents, events, "events")
	d := decoder{now: receiveTime}
	_, direct := d.decodeDirect(body, r.cfg.MaxBatchEvents)
	return direct
}

func receiverWithLimit(tb testing.TB, limit int) *wafermonitorReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxBatchEvents = limit
	return &wafermonitorReceiver{cfg: cfg, counters: newCounters(), telemetry: nopTelemetry(tb)}
}

// The shapes the old clients send are read the direct way, to the same events.
func TestDirectDecodeTakesClientSamples(t *testing.T) {
	// The samples that hold problems, named by the generic path.
	generic := map[string]bool{"invalid-cases.json": true}
	r := receiverWithLimit(t, createDefaultConfig().(*Config).MaxBatchEvents)
	files, err := filepath.Glob(filepath.Join("testdata", "v1", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		body, err := os.ReadFile(file)
		require.NoError(t, err)
		name := filepath.Base(file)
		for _, batch := range []bool{false, true} {
			direct := assertSameDecode(t, r, body, batch)
			require.Equal(t, !generic[name], direct, "%s (batch %v) read the direct way", name, batch)
		}
	}
}

func TestDirectDecodeMatchesGeneric(t *testing.T) {
	const (
		id   = `"id": "c3a9e1f0-1234-4abc-9def-0123456789ab"`
		app  = `"app": {"app_id": "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "name": "n", "version": "1"}`
		ev   = `"event": {"kind": "finished", "at": "2025-10-19T12:01:33Z", "metrics": {"duration_s": 3}, "metadata": {"error": "x"}}`
		base = `"idempotency_key": "k1", "site_id": "fab1", ` + app + `, "entity": {"type": "job", ` + id + `}, ` + ev
		flat = `"idempotency_key": "k2", "site_id": "fab1", "entity_id": "job-1", "event_kind": "started", "timestamp": 1700000000.5`
	)
	withMetrics := func(metrics string) string {
		return `{"site_id": "s", ` + app + `, "entity": {` + id + `}, "event": {"kind": "finished", "metrics": ` + metrics + `}}`
	}
	nested := func(levels int) string {
		return `{` + base[:len(base)-1] + `, "metadata": ` + strings.Repeat(`{"a":`, levels) + `1` + strings.Repeat(`}`, levels) + `}}`
	}
	tests := []struct {
		name   string
		body   string
		direct bool
	}{
		{"canonical", `{` + base + `}`, true},
		{"batch array", `[{` + base + `}, {` + base + `}]`, true},
		{"batch object", `{"events": [{` + base + `}]}`, true},
		{"empty batch", `[]`, true},
		{"flat", `{` + flat + `}`, true},
		{"flat camelCase", `{"idempotencyKey": "k3", "siteId": "s", "entityId": "e", "entityType": "wafer", "parentJobId": "p", "parentId": "q"}`, true},
		{"flat, first of a field's names", `{"idempotencyKey": "b", "idempotency_key": "a", "site_id": "s", "entityId": "x", "entity_id": "y"}`, true},
		{"flat with an app object", `{` + flat + `, ` + app + `}`, true},
		{"canonical beside flat names", `{` + base + `, "entity_id": "other", "event_kind": "error"}`, true},
		{"repeated event part", `{` + base + `, "event": {"kind": "started", "kind": "error"}}`, false},
		{"repeated entity key", `{"site_id": "s", ` + app + `, ` + ev + `, "entity": {"id": "a", "id": "b", "type": 1}}`, true},
		{"repeated top-level value", `{` + base + `, "site_id": "fab2", "idempotency_key": null}`, true},
		{"unknown nested keys", `{"site_id": "s", "app": {"x": [1, {"y": null}]}, "entity": {"id": 7, "z": "q"}, "event": {"w": true}}`, true},
		{"escaped keys", `{"site\u005fid": "s", "\u0061pp": {}, "entity": {"\u0069d": "e"}, "event": {}}`, true},
		{"odd values", `{"site_id": "s", "app": {"name": {"a": 1}, "version": 2.50}, "entity": {"id": ["x"], "type": true}, "event": {"kind": 3, "at": "x", "metrics": [1]}}`, true},
		{"empty metadata", `{"site_id": "s", "app": {}, "entity": {` + id + `}, "event": {"metadata": { }, "metadata": {"parent_job_id": "p"}}}`, true},
		{"empty metadata last", `{"site_id": "s", "app": {}, "entity": {` + id + `}, "event": {"metadata": {"parent_job_id": "p"}, "metadata": {` + "\n" + `}}}`, true},
		{"no metrics", withMetrics(`{}`), true},
		{"null metrics", withMetrics(`null`), true},
		{"metrics of numbers", withMetrics(`{"cpu_user_s": 1.5, "b": -2e3, "a": "3.25", "n": null, "z": 0}`), true},
		{"duration_seconds", withMetrics(`{"duration_seconds": 5}`), true},
		{"duration_seconds beside duration_s", withMetrics(`{"duration_seconds": 5, "duration_s": null}`), true},
		{"many metrics", withMetrics(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":null}`), true},
		{"a repeated metric", withMetrics(`{"a": 1, "a": null}`), true},
		{"a metric not a number", withMetrics(`{"a": 1, "b": "fast", "c": {"d": 2}}`), true},
		{"a metric beyond float64", withMetrics(`{"a": 1e400, "b": true}`), true},
		{"metrics a list", withMetrics(`[1, 2]`), true},
		{"escaped metric names", withMetrics(`{"a": "1", "duration_seconds": 2}`), true},
		{"deepest nesting taken", nested(maxJSONDepth - 2), true},
		{"nesting over the limit", nested(maxJSONDepth - 1), false},
		{"unknown top-level key", `{` + base + `, "extra": 1}`, false},
		{"events beside an event", `{` + base + `, "events": []}`, false},
		{"events not alone", `{"events": [{` + base + `}], "x": 1}`, false},
		{"events not a list", `{"events": {}}`, false},
		{"neither key nor id", `{"site_id": "s", "app": {}, "entity": {}, "event": {}}`, false},
		{"null app", `{"idempotency_key": "k", "site_id": "s", "app": null, "entity": {` + id + `}, "event": {}}`, false},
		{"missing event", `{"idempotency_key": "k", "site_id": "s", ` + app + `, "entity": {` + id + `}}`, false},
		{"site_id a number", `{"idempotency_key": "k", "site_id": 1, ` + app + `, "entity": {` + id + `}, "event": {}}`, false},
		{"key a number", `{"idempotency_key": 1, "site_id": "s", ` + app + `, "entity": {` + id + `}, "event": {}}`, false},
		{"null site_id", `{"site_id": null, "entity_id": "e"}`, false},
		{"item not an object", `[{` + base + `}, 1]`, false},
		{"over the limit", `[{` + base + `}, {` + base + `}, {` + base + `}]`, false},
		{"trailing data", `{` + base + `} x`, false},
		{"trailing comma", `{` + base + `,}`, false},
		{"not JSON", `{"site_id": `, false},
		{"empty", ``, false},
		{"a string", `"x"`, false},
	}
	r := receiverWithLimit(t, 2)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, json.Valid([]byte(tc.body)) || !tc.direct, "test body is JSON")
			for _, batch := range []bool{false, true} {
				require.Equal(t, tc.direct, assertSameDecode(t, r, []byte(tc.body), batch), "read the direct way (batch %v)", batch)
			}
		})
	}
}

// FuzzDirectDecode: for any body, the receiver's decoding (the direct path
// first) gives the same events, status and problems as the generic path
// alone, with the default max_batch_events and with 2. Seeds: the client
// samples, each case of invalid-cases.json, and testdata/fuzz/FuzzDirectDecode
// (FuzzDecode's, FuzzFastParse's and FuzzBatchLimit's corpora).
func FuzzDirectDecode(f *testing.F) {
	forEachSample(f, func(b []byte) {
		f.Add(b, false)
		f.Add(b, true)
	})
	var invalid struct {
		Cases []struct {
			Body json.RawMessage `json:"body"`
		} `json:"cases"`
	}
	require.NoError(f, json.Unmarshal(readSample(f, "invalid-cases.json"), &invalid))
	for _, c := range invalid.Cases {
		body := []byte(c.Body)
		var s string
		if json.Unmarshal(c.Body, &s) == nil {
			body = []byte(s) // a body that is not JSON, given as a string
		}
		f.Add(body, false)
	}
	receivers := []*wafermonitorReceiver{
		receiverWithLimit(f, createDefaultConfig().(*Config).MaxBatchEvents),
		receiverWithLimit(f, 2),
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		for _, r := range receivers {
			assertSameDecode(t, r, body, batch)
		}
	})
}

// The metrics objects clients send are read without an object map; the
// others are left to metricValues, the parser back at the object.
func TestDirectMetrics(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []metricValue // nil: left to metricValues
	}{
		{`{}`, []metricValue{}},
		{`{"mem_max_mb": 412.5, "cpu_user_s": "1.25", "x": null}`, []metricValue{{"cpu_user_s", 1.25}, {"mem_max_mb", 412.5}}},
		{`{"duration_seconds": 3}`, []metricValue{{"duration_s", 3}}},
		{`{"duration_seconds": 3, "duration_s": 4}`, []metricValue{{"duration_s", 4}}},
		{`{"a": 1, "a": 2}`, nil},
		{`{"a": "fast"}`, nil},
		{`{"a": 1e400}`, nil},
		{`{"a": [1]}`, nil},
		{`[1]`, nil},
	} {
		p := jsonParser{b: []byte(tc.body)}
		got, ok := p.directMetrics(3)
		require.Equal(t, tc.want != nil, ok, tc.body)
		if !ok {
			require.Zero(t, p.i, "%s: the parser is back at the object", tc.body)
			continue
		}
		require.Equal(t, tc.want, got, tc.body)
		require.Equal(t, len(tc.body), p.i, tc.body)
	}
}

// TestDirectDecodeMemory: a batch as the clients send it is decoded in
// about its own size, against about 5 times for the generic path; a batch
// whose last event sends it to the generic path costs the sum.
func TestDirectDecodeMemory(t *testing.T) {
	single := readSample(t, "python-subjob-finished.json")
	const n = 1000
	good := []byte("[" + strings.TrimSuffix(strings.Repeat(string(single)+",", n), ",") + "]")
	at := strings.LastIndex(string(good), `"site_id": "fab1"`)
	bad := []byte(string(good[:at]) + `"site_id": 1234567` + string(good[at+len(`"site_id": "fab1"`):]))
	r := receiverWithLimit(t, n)
	allocated := func(decode func() int, wantCode int) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		require.Equal(t, wantCode, decode())
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / float64(len(good))
	}
	direct := allocated(func() int { _, code, _ := r.decode(good, receiveTime, true); return code }, 0)
	generic := allocated(func() int { _, code, _ := r.decodeGeneric(good, &decoder{now: receiveTime}, true); return code }, 0)
	fallback := allocated(func() int { _, code, _ := r.decode(bad, receiveTime, true); return code }, http.StatusUnprocessableEntity)
	t.Logf("allocated per byte of body: direct %.2f, generic %.2f, direct then generic %.2f", direct, generic, fallback)
	assert.Less(t, direct, 0.4*generic, "the direct path allocates well under half the generic path's")
	assert.Less(t, fallback, 1.5*generic, "a fallback costs the direct attempt on top of the generic path")
}
