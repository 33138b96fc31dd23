package webhookexporter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/localapitest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// looseSample holds events the old sidecar stored as they were: a kind it
// did not know, ids that are no UUIDs, a numeric string metric, metadata
// that is a list and a string.
const looseSample = "loose-batch-array.json"

// TestV1SendsBackWhatTheClientSent: the v1 event carries the client's own
// kind, ids and metadata of any JSON type, and a second receiver makes the
// same log records of it.
func TestV1SendsBackWhatTheClientSent(t *testing.T) {
	logs, _ := sampleSignals(t, looseSample)
	reqs := sendLogs(t, logs, func(*Config) {})
	require.Len(t, reqs, 2)
	events := map[string]map[string]any{}
	for _, r := range reqs {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(r.body, &ev))
		events[ev["idempotency_key"].(string)] = ev
	}
	heartbeat := events["loose-0001"]["event"].(map[string]any)
	assert.Equal(t, "heartbeat", heartbeat["kind"])
	assert.Equal(t, []any{"step", 3.0}, heartbeat["metadata"])
	assert.Equal(t, map[string]any{"cpu_user_s": 1.5}, heartbeat["metrics"])
	assert.Equal(t, map[string]any{"type": "subjob", "id": "wafer-7", "parent_id": "LOT-4711", "business_key": "lot-4711", "sub_key": "wafer-07"},
		events["loose-0001"]["entity"])
	assert.Equal(t, "litho-app", events["loose-0001"]["app"].(map[string]any)["app_id"])
	assert.Equal(t, "operator note", events["loose-0002"]["event"].(map[string]any)["metadata"])

	second := startWaferReceiver(t)
	e := startExporter(t, configFor(second.endpoint+"/v1/ingest/events"))
	require.NoError(t, e.pushLogs(t.Context(), logs))
	again := mergeLogs(second.logs.AllLogs())
	assert.Equal(t, flattenLogs(t, logs), flattenLogs(t, again))
	kinds := map[string]any{}
	for _, rl := range again.ResourceLogs().All() {
		for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
			raw := lr.Attributes().AsRaw()
			kinds[raw[semconv.AttrIdempotencyKey].(string)] = raw[semconv.AttrEventKindOriginal]
		}
	}
	assert.Equal(t, map[string]any{"loose-0001": "heartbeat", "loose-0002": nil}, kinds)
}

// TestLocalAPIKeepsMetadataOfAnyType: the Local API stores the client's
// kind and metadata; an event sent at the send time keeps its own time in
// an object, with metadata that was no object beside it.
func TestLocalAPIKeepsMetadataOfAnyType(t *testing.T) {
	logs, _ := sampleSignals(t, looseSample)
	api := localapitest.Start(t)
	api.Now = func() time.Time { return fixedNow }
	e := startExporter(t, localAPIConfig(api, ModeBatch))
	require.NoError(t, e.pushLogs(t.Context(), logs))
	require.Empty(t, api.Refusals())
	stored := api.Events()
	require.Len(t, stored, 2)
	var heartbeat, finished map[string]any
	require.NoError(t, json.Unmarshal(stored["loose-0001"], &heartbeat))
	require.NoError(t, json.Unmarshal(stored["loose-0002"], &finished))
	ev := heartbeat["event"].(map[string]any)
	assert.Equal(t, "heartbeat", ev["kind"])
	assert.Equal(t, map[string]any{"original_at": "2025-10-19T08:00:00.000000+00:00", "original_metadata": []any{"step", 3.0}}, ev["metadata"])
	assert.Equal(t, "operator note", finished["event"].(map[string]any)["metadata"], "within the time limit, as sent")
}
