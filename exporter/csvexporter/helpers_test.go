package csvexporter

import (
	"sort"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// testEvent is a v1 event as the wafermonitor receiver decodes it; toLogs and
// toTraces build pdata the way docs/semantic-conventions.md describes.
type testEvent struct {
	site, appID, appName, appVersion  string
	entityType, entityID, parentID    string
	businessKey, subKey, kind, status string
	idempotencyKey                    string
	at                                time.Time
	metrics                           map[string]float64
	metadata                          map[string]any
	rollups                           map[string]any // jobhierarchy attributes on a job's span
	noEntity                          bool           // a log record that is not a wafer event
	observedOnly                      bool           // no event timestamp
	errorMessage, errorType           string
}

func mustUUID(s string) [16]byte {
	if s == "" {
		return [16]byte{}
	}
	return uuid.MustParse(s)
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// sampleEvents mirror the payloads in /work/shared/testdata/v1 (started,
// subjob finished, job failed) plus one with every awkward character.
func sampleEvents() []testEvent {
	return []testEvent{
		{
			site: "fab1", appID: "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", appName: "litho-scheduler", appVersion: "1.4.2",
			entityType: "job", entityID: "a1b2c3d4-e5f6-4789-8abc-def012345678", businessKey: "lot-4711",
			kind: "started", status: "running", idempotencyKey: "0f8fad5b-d9cb-469f-a165-70867728950e",
			at:       mustTime("2025-10-19T12:00:00.123456Z"),
			metrics:  map[string]float64{"cpu_user_s": 0, "cpu_system_s": 0, "mem_max_mb": 42.1},
			metadata: map[string]any{"recipe": "R-193", "tool": "SCN-07"},
		},
		{
			site: "fab1", appID: "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", appName: "litho-scheduler", appVersion: "1.4.2",
			entityType: "subjob", entityID: "c3a9e1f0-1234-4abc-9def-0123456789ab", parentID: "a1b2c3d4-e5f6-4789-8abc-def012345678",
			businessKey: "lot-4711", subKey: "wafer-07",
			kind: "finished", status: "succeeded", idempotencyKey: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
			at:      mustTime("2025-10-19T12:01:33.323456Z"),
			metrics: map[string]float64{"cpu_user_s": 1.25, "cpu_system_s": 0.1, "mem_max_mb": 412.5, "duration_s": 93.2},
		},
		{
			site: "fab1", appID: "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", appName: "litho-scheduler", appVersion: "1.4.2",
			entityType: "job", entityID: "a1b2c3d4-e5f6-4789-8abc-def012345678", businessKey: "lot-4711",
			kind: "finished", status: "failed", idempotencyKey: "9b2d1c4e-0a6f-4f35-8e1d-3c7b5a9f2e10",
			at:           mustTime("2025-10-19T12:05:00Z"),
			metrics:      map[string]float64{"cpu_user_s": 12.5, "cpu_system_s": 1.75, "mem_max_mb": 512, "duration_s": 299.876544},
			metadata:     map[string]any{"error": "overlay out of spec on wafer 07", "error_type": "OverlayError", "recipe": "R-193"},
			errorMessage: "overlay out of spec on wafer 07", errorType: "OverlayError",
			rollups: map[string]any{
				semconv.AttrSubjobsTotal: int64(1), semconv.AttrSubjobsSucceeded: int64(1), semconv.AttrSubjobsFailed: int64(0),
				semconv.AttrJobCPUUserSum: 1.25, semconv.AttrJobMemMaxMBMax: 412.5, semconv.AttrJobOutcome: semconv.OutcomeFailure,
			},
		},
		{
			site: "fab-Ü", appName: "métro,logie \"v2\"", appVersion: "2.0",
			entityType: "subjob", entityID: "abababab-abab-4bab-8bab-abababababab", parentID: "cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd",
			businessKey: "lot \"47,11\"", subKey: "wafer\n07\r\nend",
			kind: "error", status: "failed", idempotencyKey: "k-東京-1",
			at:           mustTime("2025-10-20T23:59:59.5Z"),
			metrics:      map[string]float64{"duration_s": 4},
			metadata:     map[string]any{"note": "a, \"b\"\nc", "tags": []any{"x", int64(1), true}, "nested": map[string]any{"z": 1.5, "a": "東京"}},
			errorMessage: "Überlauf; \"quoted\", comma\nnext line", errorType: "E,1",
		},
		{noEntity: true, at: mustTime("2025-10-19T12:00:00Z")},
	}
}

func putResource(res pcommon.Resource, e *testEvent) {
	attrs := res.Attributes()
	attrs.PutStr(semconv.AttrServiceName, e.appName)
	if e.appVersion != "" {
		attrs.PutStr(semconv.AttrServiceVersion, e.appVersion)
	}
	attrs.PutStr(semconv.AttrSiteID, e.site)
	if e.appID != "" {
		attrs.PutStr(semconv.AttrAppID, e.appID)
	}
}

func putEntity(e *testEvent, attrs pcommon.Map) {
	attrs.PutStr(semconv.AttrEntityType, e.entityType)
	attrs.PutStr(semconv.AttrEntityID, e.entityID)
	if e.parentID != "" {
		attrs.PutStr(semconv.AttrParentID, e.parentID)
	}
	if e.businessKey != "" {
		attrs.PutStr(semconv.AttrBusinessKey, e.businessKey)
	}
	if e.subKey != "" {
		attrs.PutStr(semconv.AttrSubKey, e.subKey)
	}
	attrs.PutStr(semconv.AttrStatus, e.status)
	keys := make([]string, 0, len(e.metrics))
	for k := range e.metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs.PutDouble(semconv.MetricPrefix+k, e.metrics[k])
	}
	if e.errorMessage != "" {
		attrs.PutStr(semconv.AttrErrorMessage, e.errorMessage)
	}
	if e.errorType != "" {
		attrs.PutStr(semconv.AttrErrorType, e.errorType)
	}
	if len(e.metadata) > 0 {
		_ = attrs.PutEmptyMap(semconv.AttrMetadata).FromRaw(e.metadata)
	}
}

func entityIDs(e *testEvent) ids.Entity {
	if e.entityType == semconv.EntityTypeJob {
		return ids.ForJob(ids.UUID(mustUUID(e.entityID)))
	}
	return ids.ForSubjob(ids.UUID(mustUUID(e.entityID)), ids.UUID(mustUUID(e.parentID)), e.parentID != "")
}

func toLogs(events []testEvent) plog.Logs {
	logs := plog.NewLogs()
	for i := range events {
		e := &events[i]
		rl := logs.ResourceLogs().AppendEmpty()
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(e.at.Add(time.Second)))
		if e.noEntity {
			lr.Body().SetStr("some other log line")
			lr.SetTimestamp(pcommon.NewTimestampFromTime(e.at))
			continue
		}
		putResource(rl.Resource(), e)
		if !e.observedOnly {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(e.at))
		}
		lr.SetEventName(semconv.EventName(e.entityType, e.kind))
		id := entityIDs(e)
		lr.SetTraceID(id.TraceID)
		lr.SetSpanID(id.SpanID)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr(e.entityType + " " + e.entityID + " " + e.kind + ": " + e.status)
		attrs := lr.Attributes()
		putEntity(e, attrs)
		attrs.PutStr(semconv.AttrEventKind, e.kind)
		attrs.PutStr(semconv.AttrIdempotencyKey, e.idempotencyKey)
		if semconv.IsTerminal(e.kind) {
			if outcome := semconv.OutcomeOf(e.status); outcome != "" {
				attrs.PutStr(semconv.AttrOutcome, outcome)
			}
		}
	}
	return logs
}

func toTraces(events []testEvent) ptrace.Traces {
	traces := ptrace.NewTraces()
	for i := range events {
		e := &events[i]
		if e.noEntity {
			rs := traces.ResourceSpans().AppendEmpty()
			span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			span.SetName("GET /other")
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(e.at))
			continue
		}
		if !semconv.IsTerminal(e.kind) {
			continue
		}
		rs := traces.ResourceSpans().AppendEmpty()
		putResource(rs.Resource(), e)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		id := entityIDs(e)
		span.SetTraceID(id.TraceID)
		span.SetSpanID(id.SpanID)
		if id.ParentSpanID != ([8]byte{}) {
			span.SetParentSpanID(id.ParentSpanID)
		}
		span.SetName(e.entityType + " " + e.businessKey)
		start := e.at
		if d, ok := e.metrics["duration_s"]; ok {
			start = e.at.Add(-time.Duration(d * float64(time.Second)))
		}
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(e.at))
		attrs := span.Attributes()
		putEntity(e, attrs)
		if outcome := semconv.OutcomeOf(e.status); outcome != "" {
			attrs.PutStr(semconv.AttrOutcome, outcome)
		}
		if e.rollups != nil {
			keys := make([]string, 0, len(e.rollups))
			for k := range e.rollups {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				_ = attrs.PutEmpty(k).FromRaw(e.rollups[k])
			}
		}
	}
	return traces
}
