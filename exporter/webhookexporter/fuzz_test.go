package webhookexporter

import (
	"encoding/json"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
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
