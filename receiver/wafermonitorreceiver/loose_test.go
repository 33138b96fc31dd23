package wafermonitorreceiver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

const (
	looseJobID = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	looseSubID = "c3a9e1f0-1234-4abc-9def-0123456789ab"
)

// looseEvent is a canonical finished subjob, changed by mut.
func looseEvent(mut func(m, app, ent, ev map[string]any)) string {
	app := map[string]any{"app_id": "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "name": "litho", "version": "1.0"}
	ent := map[string]any{"type": "subjob", "id": looseSubID, "parent_id": looseJobID, "business_key": "lot-1", "sub_key": "w-1"}
	ev := map[string]any{"kind": "finished", "at": "2025-10-19T12:00:00Z", "status": "succeeded",
		"metrics": map[string]any{"duration_s": 10, "cpu_user_s": 1.5}, "metadata": map[string]any{"tool": "T1"}}
	m := map[string]any{"idempotency_key": "k-1", "site_id": "fab1", "app": app, "entity": ent, "event": ev}
	mut(m, app, ent, ev)
	b, _ := json.Marshal(m)
	return string(b)
}

// converted is what one event became.
type converted struct {
	res  map[string]any // resource attributes
	log  map[string]any // log record attributes
	rec  plog.LogRecord
	span ptrace.Span // empty when the event made none
	has  bool        // a span was made
}

func convertLoose(t *testing.T, body string) (event, converted) {
	t.Helper()
	events, prob := decodeBody(t, []byte(body), false)
	require.Nil(t, prob, "refused: %s", body)
	require.Len(t, events, 1)
	c := converter{version: "test"}
	logs := c.toLogs(events, receiveTime)
	rl := logs.ResourceLogs().At(0)
	out := converted{res: rl.Resource().Attributes().AsRaw(), rec: rl.ScopeLogs().At(0).LogRecords().At(0)}
	out.log = out.rec.Attributes().AsRaw()
	traces, n := c.toTraces(events)
	if n > 0 {
		out.span, out.has = traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0), true
	}
	return events[0], out
}

func fromName(s string) string { return uuid.UUID(ids.FromName(s)).String() }

// TestLoosePayloads: every payload the old sidecar stored with 200 is
// accepted, and what it carries is interpreted where it can be and kept
// where not.
func TestLoosePayloads(t *testing.T) {
	tests := []struct {
		name string
		body string
		// want are log record attributes (nil: must be absent); wantRes
		// resource attributes.
		want    map[string]any
		wantRes map[string]any
		span    bool
		check   func(t *testing.T, e event, c converted)
	}{
		{name: "AWS batch-job without parent is a job",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "batch-job"; delete(ent, "parent_id") }),
			want: map[string]any{semconv.AttrEntityType: "job", semconv.AttrEntityTypeOriginal: "batch-job"}, span: true},
		{name: "AWS ecs-task with parent is a subjob",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "ecs-task" }),
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrEntityTypeOriginal: "ecs-task", semconv.AttrParentID: looseJobID}, span: true},
		{name: "AWS lambda-job without parent is a job",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "lambda-job"; ent["parent_id"] = nil }),
			want: map[string]any{semconv.AttrEntityType: "job", semconv.AttrEntityTypeOriginal: "lambda-job"}, span: true},
		{name: "AWS lambda with parent is a subjob",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "lambda" }),
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrEntityTypeOriginal: "lambda"}, span: true},
		{name: "a named subjob type without parent stays a subjob, an orphan",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "WAFER"; delete(ent, "parent_id") }),
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrEntityTypeOriginal: "WAFER", semconv.AttrOrphan: true}, span: true},
		{name: "a named job type with a parent stays a job",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = "Lot" }),
			want: map[string]any{semconv.AttrEntityType: "job", semconv.AttrEntityTypeOriginal: "Lot"}, span: true},
		{name: "no type follows the parent rule, nothing to keep",
			body: looseEvent(func(_, _, ent, _ map[string]any) { delete(ent, "type") }),
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrEntityTypeOriginal: nil}, span: true},
		{name: "a type of another JSON type is kept as text",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["type"] = 7; delete(ent, "parent_id") }),
			want: map[string]any{semconv.AttrEntityType: "job", semconv.AttrEntityTypeOriginal: "7"}, span: true},
		{name: "a string entity id becomes its name-based UUID",
			body: looseEvent(func(_, _, ent, _ map[string]any) {
				ent["id"] = "job-123"
				ent["type"] = "job"
				delete(ent, "parent_id")
			}),
			want: map[string]any{semconv.AttrEntityID: fromName("job-123"), semconv.AttrEntityIDOriginal: "job-123"}, span: true,
			check: func(t *testing.T, _ event, c converted) {
				assert.Equal(t, strings.ReplaceAll(fromName("job-123"), "-", ""), c.span.TraceID().String(), "the job's trace is its derived UUID")
				assert.Equal(t, c.span.TraceID(), c.rec.TraceID())
			}},
		{name: "a subjob naming its job's string id is its child",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["id"] = "task-9"; ent["parent_id"] = "job-123" }),
			want: map[string]any{semconv.AttrEntityID: fromName("task-9"), semconv.AttrEntityIDOriginal: "task-9",
				semconv.AttrParentID: fromName("job-123"), semconv.AttrParentIDOriginal: "job-123"}, span: true,
			check: func(t *testing.T, _ event, c converted) {
				job := ids.ForJob(ids.FromName("job-123"))
				assert.Equal(t, job.TraceID, [16]byte(c.span.TraceID()))
				assert.Equal(t, job.SpanID, [8]byte(c.span.ParentSpanID()))
			}},
		{name: "a parent id in metadata.parent_job_id as a string",
			body: looseEvent(func(_, _, ent, ev map[string]any) {
				delete(ent, "parent_id")
				ev["metadata"] = map[string]any{"parent_job_id": "job-123"}
			}),
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrParentID: fromName("job-123"), semconv.AttrParentIDOriginal: "job-123"}, span: true},
		{name: "a numeric entity id",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["id"] = 42 }),
			want: map[string]any{semconv.AttrEntityID: fromName("42"), semconv.AttrEntityIDOriginal: "42"}, span: true},
		{name: "the nil UUID is not a trace ID: name-based",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["id"] = uuid.Nil.String() }),
			want: map[string]any{semconv.AttrEntityID: fromName(uuid.Nil.String()), semconv.AttrEntityIDOriginal: uuid.Nil.String()}, span: true},
		{name: "a UUID in upper case is a UUID",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["id"] = strings.ToUpper(looseSubID) }),
			want: map[string]any{semconv.AttrEntityID: looseSubID, semconv.AttrEntityIDOriginal: nil}, span: true},
		{name: "no entity id: the event is an entity of its own, named by its key",
			body: looseEvent(func(_, _, ent, _ map[string]any) { delete(ent, "id") }),
			want: map[string]any{semconv.AttrEntityID: fromName("k-1"), semconv.AttrEntityIDOriginal: nil}, span: true},
		{name: "a string app id",
			body:    looseEvent(func(_, app, _, _ map[string]any) { app["app_id"] = "my-app" }),
			wantRes: map[string]any{semconv.AttrAppID: fromName("my-app"), semconv.AttrAppIDOriginal: "my-app"}, span: true},
		{name: "an app name and version of other JSON types",
			body:    looseEvent(func(_, app, _, _ map[string]any) { app["name"] = 5; app["version"] = 1.0 }),
			wantRes: map[string]any{semconv.AttrServiceName: "5", semconv.AttrServiceVersion: "1"}, span: true},
		{name: "an unknown kind is a non-terminal event",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["kind"] = "heartbeat"; delete(ev, "status") }),
			want: map[string]any{semconv.AttrEventKind: semconv.KindOther, semconv.AttrEventKindOriginal: "heartbeat", semconv.AttrStatus: semconv.StatusRunning},
			check: func(t *testing.T, _ event, c converted) {
				assert.Equal(t, "wafer.subjob.other", c.rec.EventName())
			}},
		{name: "a synthetic kind from a client is not terminal either",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["kind"] = "timeout" }),
			want: map[string]any{semconv.AttrEventKind: semconv.KindOther, semconv.AttrEventKindOriginal: "timeout"}},
		{name: "no kind",
			body: looseEvent(func(_, _, _, ev map[string]any) { delete(ev, "kind") }),
			want: map[string]any{semconv.AttrEventKind: semconv.KindOther, semconv.AttrEventKindOriginal: nil}},
		{name: "numeric strings in metrics are numbers",
			body: looseEvent(func(_, _, _, ev map[string]any) {
				ev["metrics"] = map[string]any{"duration_s": "12.5", "cpu_user_s": " 1.5 ", "wafers": "25"}
			}),
			want: map[string]any{semconv.AttrDurationS: 12.5, semconv.AttrCPUUserS: 1.5, semconv.MetricPrefix + "wafers": 25.0, semconv.AttrMetricsUnparsed: nil}, span: true,
			check: func(t *testing.T, _ event, c converted) {
				assert.Equal(t, 12.5, c.span.EndTimestamp().AsTime().Sub(c.span.StartTimestamp().AsTime()).Seconds())
			}},
		{name: "metric values that are not numbers are kept apart",
			body: looseEvent(func(_, _, _, ev map[string]any) {
				ev["metrics"] = map[string]any{"duration_s": "fast", "cpu_user_s": 2, "o": map[string]any{"a": 1}, "b": true, "big": json.Number("1e999999"), "nan": "NaN", "hex": "0x10"}
			}),
			want: map[string]any{semconv.AttrCPUUserS: 2.0, semconv.AttrDurationS: nil, semconv.AttrMetricsUnparsed: map[string]any{
				"duration_s": "fast", "o": map[string]any{"a": int64(1)}, "b": true, "big": "1e999999", "nan": "NaN", "hex": "0x10"}}, span: true},
		{name: "metrics that are not an object are kept",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["metrics"] = []any{1, "a"} }),
			want: map[string]any{semconv.AttrMetricsUnparsed: []any{int64(1), "a"}}, span: true},
		{name: "metadata that is a list",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["metadata"] = []any{"a", 2} }),
			want: map[string]any{semconv.AttrMetadata: []any{"a", int64(2)}}, span: true},
		{name: "metadata that is a string",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["metadata"] = "note" }),
			want: map[string]any{semconv.AttrMetadata: "note"}, span: true},
		{name: "metadata that is a number",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["metadata"] = 5 }),
			want: map[string]any{semconv.AttrMetadata: int64(5)}, span: true},
		{name: "an unparseable time is the receive time, kept",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["at"] = "yesterday" }),
			want: map[string]any{semconv.AttrEventAtOriginal: "yesterday"}, span: true,
			check: func(t *testing.T, _ event, c converted) {
				assert.Equal(t, receiveTime, c.rec.Timestamp().AsTime())
				assert.Equal(t, receiveTime, c.span.EndTimestamp().AsTime())
			}},
		{name: "an empty site_id is a site_id",
			body:    looseEvent(func(m, _, _, _ map[string]any) { m["site_id"] = "" }),
			wantRes: map[string]any{semconv.AttrSiteID: ""}, span: true},
		{name: "business and sub keys of other JSON types",
			body: looseEvent(func(_, _, ent, _ map[string]any) { ent["business_key"] = 4711; ent["sub_key"] = false }),
			want: map[string]any{semconv.AttrBusinessKey: "4711", semconv.AttrSubKey: "false"}, span: true},
		{name: "a status of another JSON type",
			body: looseEvent(func(_, _, _, ev map[string]any) { ev["status"] = 3 }),
			want: map[string]any{semconv.AttrStatus: "3", semconv.AttrOutcome: nil}, span: true},
		{name: "flat: an unknown type name follows the parent rule",
			body: `{"site_id":"fab1","entity_type":"PROCESS","entity_id":"proc-1","event_kind":"finished","timestamp":1729420000}`,
			want: map[string]any{semconv.AttrEntityType: "job", semconv.AttrEntityTypeOriginal: "PROCESS",
				semconv.AttrEntityID: fromName("proc-1"), semconv.AttrEntityIDOriginal: "proc-1"}, span: true},
		{name: "flat camelCase: string ids and an unknown kind",
			body: `{"siteId":"fab1","appId":"my-app","entityType":"STEP","entityId":"step-1","parentId":"proc-1","eventKind":"PAUSED","timestamp":"soon"}`,
			want: map[string]any{semconv.AttrEntityType: "subjob", semconv.AttrParentID: fromName("proc-1"), semconv.AttrParentIDOriginal: "proc-1",
				semconv.AttrEventKind: semconv.KindOther, semconv.AttrEventKindOriginal: "PAUSED", semconv.AttrEventAtOriginal: "soon"},
			wantRes: map[string]any{semconv.AttrAppID: fromName("my-app"), semconv.AttrAppIDOriginal: "my-app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := convertLoose(t, tt.body)
			for k, want := range tt.want {
				got, ok := c.log[k]
				if want == nil {
					assert.False(t, ok, "log attribute %s = %v, want none", k, got)
					continue
				}
				assert.Equal(t, want, got, "log attribute %s", k)
				if c.has && k != semconv.AttrEventKind && k != semconv.AttrEventKindOriginal && k != semconv.AttrEventAtOriginal {
					v, _ := c.span.Attributes().Get(k)
					assert.Equal(t, want, v.AsRaw(), "span attribute %s", k)
				}
			}
			for k, want := range tt.wantRes {
				assert.Equal(t, want, c.res[k], "resource attribute %s", k)
			}
			assert.Equal(t, tt.span, c.has, "a span")
			if tt.check != nil {
				tt.check(t, e, c)
			}
		})
	}
}

// TestLooseBatch: a batch of loose events is accepted whole.
func TestLooseBatch(t *testing.T) {
	body := "[" + looseEvent(func(_, _, ent, _ map[string]any) { ent["id"] = "job-1" }) + "," +
		looseEvent(func(_, _, _, ev map[string]any) { ev["kind"] = "heartbeat" }) + "]"
	events, prob := decodeBody(t, []byte(body), true)
	require.Nil(t, prob)
	require.Len(t, events, 2)
}
