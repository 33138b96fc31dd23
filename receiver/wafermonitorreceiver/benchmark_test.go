package wafermonitorreceiver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
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

// BenchmarkHandleEvents measures a request's whole path in the receiver, as
// the HTTP server calls it: admission, decoding, deduplication (every event
// a new key), conversion, the logs and traces pipelines (consumertest.Nop),
// the job metrics' counting and the answer, per request (ns/op) and per
// event (ns/event).
func BenchmarkHandleEvents(b *testing.B) {
	single, batch := benchBodies(b)
	for _, bc := range []struct {
		name   string
		path   string
		body   []byte
		events int
	}{
		{"single", "/v1/event", single, 1},
		{"batch100", "/v1/events/batch", batch, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type))
			require.NoError(b, err)
			r.nextLogs, r.nextTraces, r.nextMetrics = consumertest.NewNop(), consumertest.NewNop(), consumertest.NewNop()
			// The last 12 digits of every key take the iteration's number.
			const keyField = `"idempotency_key": "`
			var keyAt []int
			for at := 0; ; {
				i := bytes.Index(bc.body[at:], []byte(keyField))
				if i < 0 {
					break
				}
				at += i + len(keyField)
				keyAt = append(keyAt, at+24)
			}
			require.Len(b, keyAt, bc.events)
			body := slices.Clone(bc.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n := fmt.Appendf(nil, "%012x", i)
				for _, at := range keyAt {
					copy(body[at:], n)
				}
				req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				r.route(w, req)
				if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"duplicates":0`)) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.events), "ns/event")
		})
	}
}
