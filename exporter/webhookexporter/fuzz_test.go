package webhookexporter

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/localapitest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// FuzzRetryAfter: whatever an endpoint sends in Retry-After, the delay is
// never negative and parsing never panics.
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "0", "120", "-1", "Sun, 19 Oct 2025 12:01:30 GMT", "Sunday, 19-Oct-25 12:01:30 GMT", "99999999999999999999", "1.5"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if d, ok := retryAfter(value, fixedNow); ok && d < 0 {
			t.Fatalf("negative delay %s for %q", d, value)
		}
	})
}

// FuzzPayloads: whatever the attributes hold (any string, any number,
// including NaN and infinities), every format encodes to valid JSON.
func FuzzPayloads(f *testing.F) {
	f.Add("finished", "succeeded", "job", "c3a9e1f0-1234-4abc-9def-0123456789ab", "duration_s", 93.2, int64(3))
	f.Add("", "", "", "", "", math.NaN(), int64(0))
	f.Add("error", "failed", "subjob", "\x00\xff", "cpu_user_s", math.Inf(1), int64(-1))
	f.Fuzz(func(t *testing.T, kind, status, entityType, entityID, metric string, value float64, n int64) {
		res := pcommon.NewResource()
		res.Attributes().PutStr(semconv.AttrSiteID, entityID)
		fill := func(a pcommon.Map) {
			a.PutStr(semconv.AttrEventKind, kind)
			a.PutStr(semconv.AttrStatus, status)
			a.PutStr(semconv.AttrEntityType, entityType)
			a.PutStr(semconv.AttrEntityID, entityID)
			a.PutDouble(semconv.MetricPrefix+metric, value)
			a.PutStr(semconv.AttrDurationS, metric)
			md := a.PutEmptyMap(semconv.AttrMetadata)
			md.PutDouble("value", value)
			md.PutInt("n", n)
			md.PutEmptySlice("list").AppendEmpty().SetStr(kind)
			a.PutDouble("wafer.rollup.sum", value)
		}
		lr := plog.NewLogRecord()
		fill(lr.Attributes())
		ev, _ := eventOf(res, lr)
		if !json.Valid(mustMarshal(t, ev)) {
			t.Fatal("invalid v1 JSON")
		}
		span := ptrace.NewSpan()
		fill(span.Attributes())
		rec, _, _ := recordOf(res, span)
		if !json.Valid(mustMarshal(t, rec)) {
			t.Fatal("invalid record JSON")
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("cannot encode: %v", err)
	}
	return b
}

// FuzzLocalAPI: whatever a Local API answers, the failed count read from it
// is never negative; whatever an event's time and the clock, the event is
// sent with a business key and a time Python 3.10's fromisoformat parses,
// and within the skew limit of the send time when one is set.
func FuzzLocalAPI(f *testing.F) {
	f.Add([]byte(`{"ok":true,"total":3,"success":2,"failed":1}`), int64(1760875200123456789), int64(1760875200000000000), int64(5*time.Minute), true, false)
	f.Add([]byte(`{"failed":-7}`), int64(0), int64(math.MaxInt64), int64(0), false, true)
	f.Add([]byte(`[1,2]`), int64(math.MinInt64), int64(1), int64(1), false, false)
	f.Fuzz(func(t *testing.T, answer []byte, at, now, skew int64, hasKey, subjob bool) {
		e := &webhookExporter{cfg: &Config{Format: FormatLocalAPI, Mode: ModeBatch}}
		if n := e.failedInAnswer(answer); n < 0 {
			t.Fatalf("failed = %d for %q", n, answer)
		}
		ev := v1event.Event{Entity: v1event.Entity{Type: semconv.EntityTypeJob, ID: "a"}}
		if subjob {
			ev.Entity.Type, ev.Entity.ParentID = semconv.EntityTypeSubjob, v1event.Optional("p")
		}
		if hasKey {
			ev.Entity.BusinessKey = v1event.Optional("k")
		}
		atTime, nowTime := time.Unix(0, at), time.Unix(0, now)
		ev.Event.At = v1Time(pcommon.NewTimestampFromTime(atTime))
		forLocalAPI(&ev, atTime, nowTime, time.Duration(max(skew, 0)))
		if ev.Entity.BusinessKey == nil || *ev.Entity.BusinessKey == "" {
			t.Fatal("no business key")
		}
		sent, err := localapitest.FromISOFormat(ev.Event.At)
		if err != nil {
			t.Fatal(err)
		}
		// Times are written in microseconds.
		if d, limit := sent.Sub(nowTime), time.Duration(skew)+time.Microsecond; skew > 0 && (d > limit || d < -limit) {
			t.Fatalf("sent at %s, %s from the send time %s (limit %s)", ev.Event.At, d, nowTime.UTC(), time.Duration(skew))
		}
	})
}
