package csvexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

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
		for _, output := range []string{outputEvents, outputEntities} {
			b.Run(format+"/"+output, func(b *testing.B) {
				cfg := testConfig(b.TempDir(), format)
				cfg.FlushInterval = time.Hour
				cfg.Fsync = FsyncNever
				e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), output)
				require.NoError(b, err)
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
