package wafermonitorreceiver

import (
	"testing"
)

// FuzzDecode feeds arbitrary bodies to the decoder and the converters: any
// input is either rejected with problems or converted, never a panic. The
// seed corpus is the client samples plus testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	forEachSample(f, func(b []byte) {
		f.Add(b, false)
		f.Add(b, true)
	})
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(f)}
	c := converter{version: "fuzz"}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		events, code, prob := r.decode(body, receiveTime, batch)
		if prob != nil {
			if code < 400 || code >= 500 {
				t.Fatalf("rejection with status %d", code)
			}
			p := prob.(problems)
			if len(p.Detail) == 0 {
				t.Fatal("rejection without details")
			}
			for _, d := range p.Detail {
				if d.Type == "" || d.Msg == "" || len(d.Loc) == 0 {
					t.Fatalf("incomplete problem %+v", d)
				}
			}
			return
		}
		// An empty array is a valid (empty) batch on any path.
		for _, e := range events {
			if e.IdempotencyKey == "" || e.SiteID == "" || e.Kind == "" || e.EntityType == "" {
				t.Fatalf("accepted an incomplete event %+v", e)
			}
		}
		logs := c.toLogs(events, receiveTime)
		if logs.LogRecordCount() != len(events) {
			t.Fatalf("%d log records for %d events", logs.LogRecordCount(), len(events))
		}
		c.toTraces(events)
		newCumulativeMetrics(defaultSeriesLimits, nil).record(&c, events, receiveTime)
	})
}
