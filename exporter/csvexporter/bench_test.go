package csvexporter

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
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

// singleLogs splits the records into one plog.Logs per log record, with its
// resource and scope: one queue item of the shipped configuration.
func singleLogs(all []plog.Logs) []plog.Logs {
	var out []plog.Logs
	for _, ld := range all {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				sl := rl.ScopeLogs().At(j)
				for k := 0; k < sl.LogRecords().Len(); k++ {
					one := plog.NewLogs()
					orl := one.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(orl.Resource())
					osl := orl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(osl.Scope())
					sl.LogRecords().At(k).CopyTo(osl.LogRecords().AppendEmpty())
					out = append(out, one)
				}
			}
		}
	}
	return out
}

// singleTraces splits the records into one ptrace.Traces per span.
func singleTraces(all []ptrace.Traces) []ptrace.Traces {
	var out []ptrace.Traces
	for _, td := range all {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					one := ptrace.NewTraces()
					ors := one.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(ors.Resource())
					oss := ors.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(oss.Scope())
					ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
					out = append(out, one)
				}
			}
		}
	}
	return out
}

// BenchmarkShippedRow measures one row per call, as the shipped
// configuration writes them (otelcol-config.yaml: a queue item per event,
// no batching, daily files by event time, rows written through at once,
// 100 MiB files gzipped when closed): op is one row, a log record of a v1
// event (log) or the span of a terminal v1 event (span), cycling through
// every record the receiver and the jobhierarchy processor make of the v1
// samples.
func BenchmarkShippedRow(b *testing.B) {
	logs, traces := v1Records(b)
	ls, ts := singleLogs(logs), singleTraces(traces)
	for _, output := range []string{"log", "span"} {
		b.Run(output, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			dir := b.TempDir()
			cfg.Events.Path = filepath.Join(dir, "wafer_events_%Y%m%d.csv")
			cfg.Entities.Path = filepath.Join(dir, "wafer_entities_%Y%m%d.csv")
			cfg.Rotation.MaxMegabytes = 100
			cfg.Rotation.Compression = CompressionGzip
			name, consume := outputEvents, func(e *csvExporter, i int) error {
				return e.consumeLogs(context.Background(), ls[i%len(ls)])
			}
			if output == "span" {
				name, consume = outputEntities, func(e *csvExporter, i int) error {
					return e.consumeTraces(context.Background(), ts[i%len(ts)])
				}
			}
			e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), name)
			require.NoError(b, err)
			e.now = (&fakeClock{t: day1}).Now
			require.NoError(b, e.start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, e.shutdown(context.Background())) }()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := consume(e, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeRow measures the encoding of one row alone (op is one row),
// without the file: the records of BenchmarkShippedRow, in the default
// columns, as CSV and JSON Lines.
func BenchmarkEncodeRow(b *testing.B) {
	logs, traces := v1Records(b)
	var events, entities []record
	for _, ld := range singleLogs(logs) {
		rl := ld.ResourceLogs().At(0)
		lr := rl.ScopeLogs().At(0).LogRecords().At(0)
		events = append(events, record{resource: rl.Resource().Attributes(), attrs: lr.Attributes(), log: lr})
	}
	for _, td := range singleTraces(traces) {
		rs := td.ResourceSpans().At(0)
		span := rs.ScopeSpans().At(0).Spans().At(0)
		entities = append(entities, record{resource: rs.Resource().Attributes(), attrs: span.Attributes(), span: span})
	}
	for _, format := range []string{FormatCSV, FormatJSONL} {
		for _, output := range []string{"log", "span"} {
			b.Run(format+"/"+output, func(b *testing.B) {
				cfg := createDefaultConfig().(*Config)
				cfg.Format = format
				name, records := outputEvents, events
				if output == "span" {
					name, records = outputEntities, entities
				}
				e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), name)
				require.NoError(b, err)
				var buf []byte
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					buf = e.enc.appendRow(buf[:0], &records[i%len(records)])
				}
			})
		}
	}
}
