package csvexporter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadata"
)

// benchEvents is a batch of n events shaped like the samples, with distinct
// ids and times within one day.
func benchEvents(n int) []testEvent {
	samples := sampleEvents()[:3]
	events := make([]testEvent, n)
	for i := range events {
		e := samples[i%len(samples)]
		e.idempotencyKey = fmt.Sprintf("key-%d", i)
		e.at = day1.Add(time.Duration(i) * time.Millisecond)
		events[i] = e
	}
	return events
}

// BenchmarkRows measures rows per second from pdata to the file (buffered,
// flushed every 256 KiB, no fsync) through the exporter's consume functions.
func BenchmarkRows(b *testing.B) {
	const batch = 1000
	events := benchEvents(batch)
	logs, traces := toLogs(events), toTraces(events)
	for _, format := range []string{FormatCSV, FormatJSONL} {
		for _, output := range []string{outputEvents, outputEntities, outputEvents + "/daily"} {
			b.Run(format+"/"+output, func(b *testing.B) {
				cfg := testConfig(b.TempDir(), format)
				cfg.FlushInterval = time.Hour
				cfg.Fsync = FsyncNever
				daily := strings.HasSuffix(output, "/daily")
				if daily {
					// Files by event time: each row's period is found and checked
					// against the event-time window.
					output = outputEvents
					cfg.Events.Path = strings.Replace(cfg.Events.Path, "events", "events_%Y%m%d", 1)
				}
				e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), output)
				require.NoError(b, err)
				e.now = (&fakeClock{t: day1}).Now
				require.NoError(b, e.start(context.Background(), componenttest.NewNopHost()))
				defer func() { require.NoError(b, e.shutdown(context.Background())) }()
				rows := logs.LogRecordCount()
				consume := func() error { return e.consumeLogs(context.Background(), logs) }
				if output == outputEntities {
					rows = traces.SpanCount()
					consume = func() error { return e.consumeTraces(context.Background(), traces) }
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := consume(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// BenchmarkPlace: finding the files of a batch of 1,000 rows of one day,
// against resolving each row's file name alone (the peer).
func BenchmarkPlace(b *testing.B) {
	times := make([]time.Time, 1000)
	for i := range times {
		times[i] = day1.Add(time.Duration(i) * time.Millisecond)
	}
	batch := batchOf(nil, times...)
	spec := testSpec(b.TempDir(), "ev_%Y%m%d.csv")
	spec.window = eventWindow{past: 7 * 24 * time.Hour, future: 24 * time.Hour}
	w := newFileWriter(spec, (&fakeClock{t: day1}).Now, zap.NewNop(), writerHooks{})
	b.Run("place", func(b *testing.B) {
		var p placement
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.place(batch, day1, &p)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(times)), "ns/row")
	})
	b.Run("resolve_each_row", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, at := range times {
				_ = w.stemAt(at)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(times)), "ns/row")
	})
}
