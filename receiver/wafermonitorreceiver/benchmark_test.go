package wafermonitorreceiver

import (
	"bytes"
	"fmt"
	"testing"
)

// benchBodies returns one single-event body and one batch of 100 subjob events.
func benchBodies(b *testing.B) (single, batch []byte) {
	single = readSample(b, "python-subjob-finished.json")
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; i < 100; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(bytes.Replace(single, []byte("7c9e6679-7425"), []byte(fmt.Sprintf("7c9e%04d-7425", i)), 1))
	}
	buf.WriteByte(']')
	return single, buf.Bytes()
}

// BenchmarkDecodeConvert measures decode + validation + conversion to logs,
// traces and metrics, per request (ns/op) and per event (ns/event).
func BenchmarkDecodeConvert(b *testing.B) {
	single, batch := benchBodies(b)
	for _, bc := range []struct {
		name   string
		body   []byte
		batch  bool
		events int
	}{
		{"single", single, false, 1},
		{"batch100", batch, true, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(b)}
			c := converter{version: "bench"}
			cm := newCumulativeMetrics(defaultSeriesLimits, nil)
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				events, _, prob := r.decode(bc.body, receiveTime, bc.batch)
				if prob != nil || len(events) != bc.events {
					b.Fatalf("decode: %v", prob)
				}
				_ = c.toLogs(events, receiveTime)
				_, _ = c.toTraces(events)
				cm.record(events, receiveTime)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.events), "ns/event")
		})
	}
}
