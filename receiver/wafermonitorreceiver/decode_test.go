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

// TestDecodeProblems lists what is still refused: what the old sidecar
// refused too (a body that is not JSON, a missing or wrongly typed site_id,
// app, entity or event, an idempotency_key that is not a string).
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
	tests := []struct {
		name  string
		body  []byte
		batch bool
		typ   string
		loc   []any
	}{
		{"empty body", []byte(""), false, typeJSONInvalid, []any{"body"}},
		{"trailing data", []byte(`{} {}`), false, typeJSONInvalid, []any{"body"}},
		{"not an object", []byte(`"hello"`), false, typeDictType, []any{"body"}},
		{"site_id missing", valid(func(m map[string]any) { delete(m, "site_id") }), false, typeMissing, []any{"body", "site_id"}},
		{"site_id null", valid(func(m map[string]any) { m["site_id"] = nil }), false, typeMissing, []any{"body", "site_id"}},
		{"site_id number", valid(func(m map[string]any) { m["site_id"] = 17 }), false, typeStringType, []any{"body", "site_id"}},
		{"app missing", valid(func(m map[string]any) { delete(m, "app") }), false, typeMissing, []any{"body", "app"}},
		{"app not object", valid(func(m map[string]any) { m["app"] = "x" }), false, typeDictType, []any{"body", "app"}},
		{"entity list", valid(func(m map[string]any) { m["entity"] = []int{1} }), false, typeDictType, []any{"body", "entity"}},
		{"event missing", valid(func(m map[string]any) { delete(m, "event") }), false, typeMissing, []any{"body", "event"}},
		{"event number", valid(func(m map[string]any) { m["event"] = 3 }), false, typeDictType, []any{"body", "event"}},
		{"idempotency_key number", valid(func(m map[string]any) { m["idempotency_key"] = 4 }), false, typeStringType, []any{"body", "idempotency_key"}},
		{"flat site missing", []byte(`{"entity_type":0,"entity_id":"a1b2c3d4-e5f6-4789-8abc-def012345678","event_kind":0}`), false, typeMissing, []any{"body", "site_id"}},
		{"flat camel site number", []byte(`{"siteId":5,"entityType":"JOB","entityId":"zz","eventKind":"STARTED"}`), false, typeStringType, []any{"body", "siteId"}},
		{"flat camel key number", []byte(`{"siteId":"s","idempotencyKey":5,"entityId":"zz"}`), false, typeStringType, []any{"body", "idempotencyKey"}},
		{"batch events not list", []byte(`{"events": 3}`), true, typeListType, []any{"body", "events"}},
		{"batch scalar", []byte(`3`), true, typeListType, []any{"body"}},
		{"batch item not object", []byte(`[` + string(valid(func(map[string]any) {})) + `, 5]`), true, typeDictType, []any{"body", 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, prob := decodeBody(t, tt.body, tt.batch)
			require.NotNil(t, prob)
			for _, p := range prob.Detail {
				if p.Type == tt.typ && assert.ObjectsAreEqual(tt.loc, p.Loc) {
					assert.NotEmpty(t, p.Msg)
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

// TestEntityIDText: whatever form of a UUID the client sent, the entity
// and parent ids go out in canonical text, the same as the UUID's own; the
// client's string is kept only when it was already that.
func TestEntityIDText(t *testing.T) {
	const canonical = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	for _, sent := range []string{
		canonical,
		"7C9E6679-7425-40DE-944B-E07FC1F90AE7",
		"7c9e6679742540de944be07fc1f90ae7",
		"{7c9e6679-7425-40de-944b-e07fc1f90ae7}",
		"urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7",
	} {
		t.Run(sent, func(t *testing.T) {
			body := `{"site_id":"fab1","app":{"name":"litho"},"entity":{"type":"subjob","id":"` + sent + `","parent_id":"` + sent + `"},` +
				`"event":{"kind":"started","at":"2025-10-19T12:00:00Z","status":"running"}}`
			events, prob := decodeBody(t, []byte(body), false)
			require.Nil(t, prob)
			require.Len(t, events, 1)
			e := &events[0]
			assert.Equal(t, canonical, e.idText())
			assert.Equal(t, canonical, e.parentText())
			assert.Equal(t, canonical, refOf(e).ID)
			assert.Empty(t, e.EntityIDOriginal)
			assert.Equal(t, uuid.MustParse(canonical), e.EntityID)
		})
	}
}
