package wafermonitorreceiver

import (
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// sidecarRefuses is the reference for what may be refused: what the old
// sidecar refused too. It validated the top level only: a batch that is not
// a list, an item that is not an object, a missing or wrongly typed site_id,
// app, entity or event (the flat shapes have only site_id), an
// idempotency_key that is not a string.
func sidecarRefuses(v any) bool {
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case map[string]any:
		evs, wrapped := t[v1event.FieldEvents]
		if !wrapped {
			items = []any{t}
			break
		}
		list, ok := evs.([]any)
		if !ok {
			return true
		}
		items = list
	default:
		return true
	}
	for _, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			return true
		}
		isString := func(names v1event.Flat, required bool) bool {
			for _, n := range names {
				if v, present := obj[n]; present {
					_, ok := v.(string)
					return ok || (v == nil && !required)
				}
			}
			return !required
		}
		if isFlat(obj) {
			if !isString(v1event.FlatSiteID, true) || !isString(v1event.FlatIdempotencyKey, false) {
				return true
			}
			continue
		}
		if !isString(v1event.Flat{v1event.FieldSiteID}, true) || !isString(v1event.Flat{v1event.FieldIdempotencyKey}, false) {
			return true
		}
		for _, k := range []string{v1event.FieldApp, v1event.FieldEntity, v1event.FieldEvent} {
			if _, ok := obj[k].(map[string]any); !ok {
				return true
			}
		}
	}
	return false
}

// FuzzDecode feeds arbitrary bodies to the decoder and the converters. It
// refuses exactly what the old sidecar refused (and batches over
// max_batch_events), with a 4xx and every problem named; what it accepts is
// bounded, in the time window, and converted without a panic. The seed
// corpus is the client samples plus testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	forEachSample(f, func(b []byte) {
		f.Add(b, false)
		f.Add(b, true)
	})
	f.Add([]byte(looseEvent(func(_, _, ent, ev map[string]any) {
		ent["id"] = "job-1"
		ev["kind"] = "heartbeat"
		ev["metadata"] = []any{1}
	})), false)
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(f)}
	c := converter{version: "fuzz"}
	window := windowAround(receiveTime)
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		events, code, prob := r.decode(body, receiveTime, batch)
		std, valid := stdParse(body)
		if prob != nil {
			if code != http.StatusUnprocessableEntity && code != http.StatusRequestEntityTooLarge {
				t.Fatalf("rejection with status %d", code)
			}
			for _, d := range prob.(problems).Detail {
				if d.Type == "" || d.Msg == "" || len(d.Loc) == 0 {
					t.Fatalf("incomplete problem %+v", d)
				}
			}
			if valid && code == http.StatusUnprocessableEntity && !sidecarRefuses(std) {
				t.Fatalf("refused what the old sidecar took: %+v", prob.(problems).Detail)
			}
			return
		}
		if !valid || sidecarRefuses(std) {
			t.Fatalf("accepted what the old sidecar refused (valid JSON: %v)", valid)
		}
		for _, e := range events {
			if e.IdempotencyKey == "" || e.EntityID == (uuid.UUID{}) {
				t.Fatalf("accepted an event without key or id %+v", e)
			}
			if e.EntityType != semconv.EntityTypeJob && e.EntityType != semconv.EntityTypeSubjob {
				t.Fatalf("entity type %q", e.EntityType)
			}
			if !slices.Contains(eventKinds[:], e.Kind) && e.Kind != semconv.KindOther {
				t.Fatalf("kind %q", e.Kind)
			}
			for _, s := range []string{e.IdempotencyKey, e.SiteID, e.AppID, e.AppIDOriginal, e.AppName, e.AppVersion, e.EntityTypeOriginal,
				e.EntityIDOriginal, e.ParentIDOriginal, e.BusinessKey, e.SubKey, e.KindOriginal, e.AtOriginal, e.Status} {
				if len(s) > maxValueBytes || !utf8.ValidString(s) {
					t.Fatalf("unbounded or invalid string %q", s)
				}
			}
			if !window.contains(e.At) || e.Start.After(e.At) || e.Start.Before(window.earliest) {
				t.Fatalf("times outside the window: start %v, at %v", e.Start, e.At)
			}
		}
		logs := c.toLogs(events, receiveTime)
		if logs.LogRecordCount() != len(events) {
			t.Fatalf("%d log records for %d events", logs.LogRecordCount(), len(events))
		}
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			records := logs.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < records.Len(); j++ {
				if ts := records.At(j).Timestamp(); !window.contains(ts.AsTime()) || ts == pcommon.Timestamp(0) {
					t.Fatalf("log record time %v", ts.AsTime())
				}
			}
		}
		c.toTraces(events)
		newCumulativeMetrics(defaultSeriesLimits, nil).recordCollect(&c, events, receiveTime)
	})
}
