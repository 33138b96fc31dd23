package wafermonitorreceiver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

var receiveTime = time.Date(2025, 10, 19, 13, 0, 0, 0, time.UTC)

// decodeBody runs the receiver's decoding of one request body.
func decodeBody(t testing.TB, body []byte, batch bool) ([]event, *problems) {
	t.Helper()
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters()}
	r.telemetry = nopTelemetry(t)
	events, _, prob := r.decode(body, receiveTime, batch)
	if prob != nil {
		p := prob.(problems)
		return nil, &p
	}
	return events, nil
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
	require.NoError(t, err)
	return b
}

func TestDecodeSamples(t *testing.T) {
	tests := []struct {
		file  string
		batch bool
		check func(t *testing.T, events []event)
	}{
		{file: "python-started.json", check: func(t *testing.T, ev []event) {
			require.Len(t, ev, 1)
			e := ev[0]
			assert.Equal(t, "0f8fad5b-d9cb-469f-a165-70867728950e", e.IdempotencyKey)
			assert.Equal(t, semconv.EntityTypeJob, e.EntityType)
			assert.Equal(t, semconv.KindStarted, e.Kind)
			assert.Equal(t, time.Date(2025, 10, 19, 12, 0, 0, 123456000, time.UTC), e.At)
			assert.Equal(t, semconv.StatusRunning, e.Status)
			assert.Equal(t, "litho-scheduler", e.AppName)
			assert.False(t, e.HasParent)
		}},
		{file: "python-subjob-finished.json", check: func(t *testing.T, ev []event) {
			e := ev[0]
			assert.Equal(t, semconv.EntityTypeSubjob, e.EntityType)
			assert.True(t, e.HasParent)
			assert.Equal(t, "a1b2c3d4-e5f6-4789-8abc-def012345678", e.ParentID.String())
			d, ok := e.metric("duration_s")
			assert.True(t, ok)
			assert.InDelta(t, 93.2, d, 1e-9)
		}},
		{file: "python-job-failed.json", check: func(t *testing.T, ev []event) {
			assert.Equal(t, semconv.KindFinished, ev[0].Kind)
			assert.Equal(t, semconv.StatusFailed, ev[0].Status)
		}},
		{file: "c-flat.json", check: func(t *testing.T, ev []event) {
			e := ev[0]
			assert.Equal(t, semconv.EntityTypeSubjob, e.EntityType)
			assert.Equal(t, semconv.KindFinished, e.Kind)
			assert.Equal(t, semconv.StatusSucceeded, e.Status)
			assert.Equal(t, time.Unix(1729420000, 0).UTC(), e.At)
			assert.Equal(t, "metrology-c", e.AppName)
			assert.Equal(t, "0.3.0", e.AppVersion)
			d, _ := e.metric("duration_s")
			assert.InDelta(t, 12.5, d, 1e-9)
			_, old := e.metric("duration_seconds")
			assert.False(t, old, "duration_seconds is renamed to duration_s")
			w, _ := e.metric("wafers")
			assert.InDelta(t, 25.0, w, 1e-9)
		}},
		{file: "java-camel.json", check: func(t *testing.T, ev []event) {
			e := ev[0]
			assert.Equal(t, semconv.EntityTypeSubjob, e.EntityType)
			assert.Equal(t, "WAFER", e.EntityTypeOriginal)
			assert.Equal(t, semconv.KindStarted, e.Kind)
			assert.Equal(t, semconv.StatusRunning, e.Status)
			assert.Equal(t, time.Unix(1729420000, 250000000).UTC(), e.At)
			assert.Equal(t, "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb-start-1729420000", e.IdempotencyKey)
		}},
		{file: "r-flat.json", check: func(t *testing.T, ev []event) {
			e := ev[0]
			assert.Equal(t, semconv.EntityTypeJob, e.EntityType)
			assert.Equal(t, semconv.KindError, e.Kind)
			assert.Equal(t, semconv.StatusFailed, e.Status)
		}},
		{file: "business-app-nested-no-key.json", check: func(t *testing.T, ev []event) {
			e := ev[0]
			assert.True(t, e.HasParent, "parent taken from metadata.parent_job_id")
			assert.Equal(t, "cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd", e.ParentID.String())
			assert.Equal(t, "derived:abababab-abab-4bab-8bab-abababababab:finished:1729420200500000000", e.IdempotencyKey)
			assert.Equal(t, time.Unix(1729420200, 500000000).UTC(), e.At)
		}},
		{file: "python-batch-array.json", batch: true, check: func(t *testing.T, ev []event) {
			require.Len(t, ev, 3)
			assert.Equal(t, []string{"started", "progress", "canceled"}, []string{ev[0].Kind, ev[1].Kind, ev[2].Kind})
			assert.Equal(t, semconv.StatusCanceled, ev[2].Status)
		}},
		{file: "sdk03-batch-object.json", batch: true, check: func(t *testing.T, ev []event) {
			require.Len(t, ev, 1)
			assert.Equal(t, semconv.KindMetric, ev[0].Kind)
			assert.Equal(t, time.Date(2025, 10, 19, 7, 0, 0, 500000000, time.UTC), ev[0].At)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			events, prob := decodeBody(t, readSample(t, tt.file), tt.batch)
			require.Nil(t, prob)
			tt.check(t, events)
		})
	}
}

func TestDecodeInvalidCases(t *testing.T) {
	var file struct {
		Cases []struct {
			Name   string          `json:"name"`
			Body   json.RawMessage `json:"body"`
			Batch  bool            `json:"batch"`
			Expect int             `json:"expect"`
			Type   string          `json:"type"`
			Loc    []any           `json:"loc"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(readSample(t, "invalid-cases.json"), &file))
	require.NotEmpty(t, file.Cases)
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			body := []byte(c.Body)
			var s string
			if json.Unmarshal(body, &s) == nil { // a raw, not-JSON body is given as a string
				body = []byte(s)
			}
			_, prob := decodeBody(t, body, c.Batch)
			require.NotNil(t, prob, "must be rejected")
			var locs [][]any
			for _, p := range prob.Detail {
				if c.Type != "" && p.Type == c.Type {
					return
				}
				loc, err := json.Marshal(p.Loc)
				require.NoError(t, err)
				var generic []any
				require.NoError(t, json.Unmarshal(loc, &generic))
				locs = append(locs, generic)
				assert.NotEmpty(t, p.Msg)
			}
			if c.Type != "" {
				t.Fatalf("no problem of type %s in %+v", c.Type, prob.Detail)
			}
			assert.Contains(t, locs, c.Loc)
		})
	}
}

func TestDecodeProblems(t *testing.T) {
	valid := func(mut func(m map[string]any)) []byte {
		m := map[string]any{
			"idempotency_key": "k",
			"site_id":         "fab1",
			"app":             map[string]any{"name": "a"},
			"entity":          map[string]any{"type": "job", "id": "a1b2c3d4-e5f6-4789-8abc-def012345678"},
			"event":           map[string]any{"kind": "started", "at": "2025-10-19T12:00:00Z"},
		}
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}
	event := func(m map[string]any) map[string]any { return m["event"].(map[string]any) }
	entity := func(m map[string]any) map[string]any { return m["entity"].(map[string]any) }
	tests := []struct {
		name string
		body []byte
		typ  string
		loc  []any
	}{
		{"empty body", []byte(""), typeJSONInvalid, []any{"body"}},
		{"trailing data", []byte(`{} {}`), typeJSONInvalid, []any{"body"}},
		{"not an object", []byte(`"hello"`), typeDictType, []any{"body"}},
		{"app not object", valid(func(m map[string]any) { m["app"] = "x" }), typeDictType, []any{"body", "app"}},
		{"empty site", valid(func(m map[string]any) { m["site_id"] = " " }), typeStringTooShort, []any{"body", "site_id"}},
		{"entity type unknown", valid(func(m map[string]any) { entity(m)["type"] = "jbo" }), typeEnum, []any{"body", "entity", "type"}},
		{"entity type number out of range", valid(func(m map[string]any) { entity(m)["type"] = 7 }), typeEnum, []any{"body", "entity", "type"}},
		{"parent not uuid", valid(func(m map[string]any) { entity(m)["parent_id"] = "x" }), typeUUIDParsing, []any{"body", "entity", "parent_id"}},
		{"business key number", valid(func(m map[string]any) { entity(m)["business_key"] = 4 }), typeStringType, []any{"body", "entity", "business_key"}},
		{"kind missing", valid(func(m map[string]any) { delete(event(m), "kind") }), typeMissing, []any{"body", "event", "kind"}},
		{"kind number out of range", valid(func(m map[string]any) { event(m)["kind"] = 9 }), typeEnum, []any{"body", "event", "kind"}},
		{"metrics not object", valid(func(m map[string]any) { event(m)["metrics"] = []int{1} }), typeDictType, []any{"body", "event", "metrics"}},
		{"metric bool", valid(func(m map[string]any) { event(m)["metrics"] = map[string]any{"x": true} }), typeFloatType, []any{"body", "event", "metrics", "x"}},
		{"metadata not object", valid(func(m map[string]any) { event(m)["metadata"] = "x" }), typeDictType, []any{"body", "event", "metadata"}},
		{"metadata parent not uuid", valid(func(m map[string]any) { event(m)["metadata"] = map[string]any{"parent_job_id": "nope"} }), typeUUIDParsing, []any{"body", "event", "metadata", "parent_job_id"}},
		{"timestamp in milliseconds", valid(func(m map[string]any) { event(m)["at"] = 1729420000000 }), typeDatetimeParsing, []any{"body", "event", "at"}},
		{"timestamp negative", valid(func(m map[string]any) { event(m)["at"] = -1 }), typeDatetimeParsing, []any{"body", "event", "at"}},
		{"timestamp bool", valid(func(m map[string]any) { event(m)["at"] = true }), typeDatetimeParsing, []any{"body", "event", "at"}},
		{"flat kind missing", []byte(`{"site_id":"fab1","entity_type":0,"entity_id":"a1b2c3d4-e5f6-4789-8abc-def012345678"}`), typeMissing, []any{"body", "event_kind"}},
		{"flat camel id bad", []byte(`{"siteId":"fab1","entityType":"JOB","entityId":"zz","eventKind":"STARTED"}`), typeUUIDParsing, []any{"body", "entityId"}},
		{"batch events not list", []byte(`{"events": 3}`), typeListType, []any{"body", "events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, prob := decodeBody(t, tt.body, false)
			require.NotNil(t, prob)
			for _, p := range prob.Detail {
				if p.Type == tt.typ && assert.ObjectsAreEqual(tt.loc, p.Loc) {
					return
				}
			}
			t.Fatalf("want %s at %v, got %+v", tt.typ, tt.loc, prob.Detail)
		})
	}
}

func TestDecodeLenientVariants(t *testing.T) {
	id := "a1b2c3d4-e5f6-4789-8abc-def012345678"
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, e event)
	}{
		{"timestamp without offset is UTC", `{"site_id":"s","app":{},"entity":{"type":"job","id":"` + id + `"},"event":{"kind":"started","at":"2025-10-19T12:00:00.5"}}`,
			func(t *testing.T, e event) { assert.Equal(t, time.Date(2025, 10, 19, 12, 0, 0, 5e8, time.UTC), e.At) }},
		{"timestamp with nanoseconds and offset", `{"site_id":"s","app":{},"entity":{"type":"job","id":"` + id + `"},"event":{"kind":"started","at":"2025-10-19T14:00:00.123456789+02:00"}}`,
			func(t *testing.T, e event) {
				assert.Equal(t, time.Date(2025, 10, 19, 12, 0, 0, 123456789, time.UTC), e.At)
			}},
		{"numeric string epoch", `{"site_id":"s","app":{},"entity":{"type":"job","id":"` + id + `"},"event":{"kind":"started","at":"1729420000.25"}}`,
			func(t *testing.T, e event) { assert.Equal(t, time.Unix(1729420000, 25e7).UTC(), e.At) }},
		{"missing at is receive time", `{"site_id":"s","app":{},"entity":{"type":"job","id":"` + id + `"},"event":{"kind":"started"}}`,
			func(t *testing.T, e event) { assert.Equal(t, receiveTime, e.At) }},
		{"kind in upper case and status default", `{"site_id":"s","app":{},"entity":{"type":"JOB","id":"` + id + `"},"event":{"kind":"FINISHED"}}`,
			func(t *testing.T, e event) {
				assert.Equal(t, semconv.KindFinished, e.Kind)
				assert.Equal(t, semconv.StatusSucceeded, e.Status)
			}},
		{"flat integer kind and type", `{"site_id":"s","entity_type":0,"entity_id":"` + id + `","event_kind":4,"timestamp":1729420000,"status":"error"}`,
			func(t *testing.T, e event) {
				assert.Equal(t, semconv.EntityTypeJob, e.EntityType)
				assert.Equal(t, semconv.KindError, e.Kind)
				assert.Equal(t, semconv.StatusFailed, e.Status)
			}},
		{"java LOT is a job", `{"siteId":"s","entityType":"LOT","entityId":"` + id + `","eventKind":"started"}`,
			func(t *testing.T, e event) {
				assert.Equal(t, semconv.EntityTypeJob, e.EntityType)
				assert.Equal(t, "LOT", e.EntityTypeOriginal)
			}},
		{"java STEP is a subjob", `{"siteId":"s","entityType":"STEP","entityId":"` + id + `","eventKind":"progress","status":"in_progress"}`,
			func(t *testing.T, e event) {
				assert.Equal(t, semconv.EntityTypeSubjob, e.EntityType)
				assert.Equal(t, semconv.StatusRunning, e.Status)
			}},
		{"uuid in upper case", `{"site_id":"s","app":{},"entity":{"type":"job","id":"A1B2C3D4-E5F6-4789-8ABC-DEF012345678"},"event":{"kind":"started"}}`,
			func(t *testing.T, e event) { assert.Equal(t, uuid.MustParse(id), e.EntityID) }},
		{"unknown keys ignored, nulls accepted", `{"x":1,"site_id":"s","app":{"name":null},"entity":{"type":"job","id":"` + id + `","business_key":null},"event":{"kind":"metric","metrics":{"a":null,"b":2},"metadata":null}}`,
			func(t *testing.T, e event) { assert.Equal(t, []metricValue{{"b", 2}}, e.Metrics) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, prob := decodeBody(t, []byte(tt.body), false)
			require.Nil(t, prob)
			require.Len(t, events, 1)
			tt.check(t, events[0])
		})
	}
}

func TestBatchTooLarge(t *testing.T) {
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(t)}
	r.cfg.MaxBatchEvents = 2
	_, code, _ := r.decode([]byte(`[{},{},{}]`), receiveTime, true)
	assert.Equal(t, 413, code)
}
