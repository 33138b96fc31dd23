package zabbixexporter

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// BenchmarkConvert measures the conversion of lifecycle log records
// (started and finished of distinct subjobs) and of finished-entity spans to
// Zabbix values, without a server: the exporter's own CPU per event.
func BenchmarkConvert(b *testing.B) {
	const n = 100
	at := time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)
	res := pcommon.NewMap()
	res.PutStr(semconv.AttrServiceName, "litho-scheduler")
	res.PutStr(semconv.AttrSiteID, "fab1")
	putEntity := func(attrs pcommon.Map, i int, status string) {
		attrs.PutStr(semconv.AttrEntityType, semconv.EntityTypeSubjob)
		attrs.PutStr(semconv.AttrEntityID, fmt.Sprintf("c0000000-0000-4000-8000-%012d", i))
		attrs.PutStr(semconv.AttrParentID, "a0000000-0000-4000-8000-000000000001")
		attrs.PutStr(semconv.AttrBusinessKey, "lot-4711")
		attrs.PutStr(semconv.AttrStatus, status)
	}
	records := plog.NewLogRecordSlice()
	spans := ptrace.NewSpanSlice()
	for i := 0; i < n; i++ {
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
		kind, status := semconv.KindStarted, semconv.StatusRunning
		if i%2 == 1 {
			kind, status = semconv.KindFinished, semconv.StatusSucceeded
		}
		putEntity(lr.Attributes(), i/2, status)
		lr.Attributes().PutStr(semconv.AttrEventKind, kind)
		if kind == semconv.KindFinished {
			lr.Attributes().PutDouble(semconv.AttrDurationS, 93.2)
			lr.Attributes().PutDouble(semconv.AttrCPUUserS, 1.25)
			lr.Attributes().PutDouble(semconv.AttrMemMaxMB, 412.5)
		}
		span := spans.AppendEmpty()
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-time.Minute)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(at))
		putEntity(span.Attributes(), i, semconv.StatusSucceeded)
		span.Attributes().PutStr(semconv.AttrOutcome, semconv.OutcomeOf(semconv.StatusSucceeded))
	}
	for _, bc := range []struct {
		name    string
		convert func(c *converter) int
	}{
		{"logs", func(c *converter) int {
			values := 0
			for i := 0; i < records.Len(); i++ {
				values += len(c.fromLog(res, records.At(i)))
			}
			return values
		}},
		{"spans", func(c *converter) int {
			values := 0
			for i := 0; i < spans.Len(); i++ {
				values += len(c.fromSpan(res, spans.At(i)))
			}
			return values
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := newConverter(createDefaultConfig().(*Config))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			values := 0
			for i := 0; i < b.N; i++ {
				values += bc.convert(c)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			b.ReportMetric(float64(values)/float64(b.N*n), "values/event")
		})
	}
}
