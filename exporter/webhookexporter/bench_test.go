package webhookexporter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// syntheticLogs makes n lifecycle events of one application, as the
// wafermonitor receiver would.
func syntheticLogs(n int) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr(semconv.AttrServiceName, "litho-scheduler")
	ra.PutStr(semconv.AttrServiceVersion, "1.4.2")
	ra.PutStr(semconv.AttrSiteID, "fab1")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	at := time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)
	for i := range n {
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Millisecond)))
		a := lr.Attributes()
		a.PutStr(semconv.AttrEntityType, semconv.EntityTypeSubjob)
		a.PutStr(semconv.AttrEntityID, fmt.Sprintf("c3a9e1f0-1234-4abc-9def-%012d", i))
		a.PutStr(semconv.AttrParentID, "a1b2c3d4-e5f6-4789-8abc-def012345678")
		a.PutStr(semconv.AttrBusinessKey, "lot-4711")
		a.PutStr(semconv.AttrSubKey, fmt.Sprintf("wafer-%02d", i%25))
		a.PutStr(semconv.AttrEventKind, semconv.KindFinished)
		a.PutStr(semconv.AttrStatus, semconv.StatusSucceeded)
		a.PutStr(semconv.AttrOutcome, semconv.OutcomeSuccess)
		a.PutStr(semconv.AttrIdempotencyKey, fmt.Sprintf("key-%d", i))
		a.PutDouble(semconv.AttrDurationS, 93.2)
		a.PutDouble(semconv.AttrCPUUserS, 1.25)
		a.PutDouble(semconv.AttrMemMaxMB, 412.5)
	}
	return logs
}

// BenchmarkDeliver measures events per second delivered to a local HTTP
// server that reads every body and answers 200.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	const events = 1000
	logs := syntheticLogs(events)
	for _, bc := range []struct {
		name, format, mode string
		signed             bool
	}{
		{"v1/single", FormatV1, ModeSingle, false},
		{"v1/single/signed", FormatV1, ModeSingle, true},
		{"v1/batch100", FormatV1, ModeBatch, false},
		{"v1/batch100/signed", FormatV1, ModeBatch, true},
		{"local_api/batch100", FormatLocalAPI, ModeBatch, false},
		{"cloudevents/single", FormatCloudEvents, ModeSingle, false},
		{"cloudevents/batch100", FormatCloudEvents, ModeBatch, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := configFor(srv.URL)
			cfg.Format = bc.format
			cfg.Mode = bc.mode
			if bc.signed {
				cfg.Signing.Secret = "benchmark"
			}
			e, err := newExporter(cfg, newSettings())
			if err != nil {
				b.Fatal(err)
			}
			if err := e.start(b.Context(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = e.shutdown(b.Context()) }()
			rounds := 0
			for b.Loop() {
				if err := e.pushLogs(b.Context(), logs); err != nil {
					b.Fatal(err)
				}
				rounds++
			}
			b.ReportMetric(float64(events*rounds)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
