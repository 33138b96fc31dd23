package zabbixexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
)

// BenchmarkDeliver measures the exporter's delivery of batches of 100
// finished subjobs over 50 confirmed job types to a fake trapper on
// loopback, against its peer in the same run: the protocol client sending
// the same number of values. Their ratio is the exporter's own cost
// (conversion, the job types' state, requests).
//
//	go test -run '^$' -bench Deliver -benchtime 200x ./exporter/zabbixexporter/
func BenchmarkDeliver(b *testing.B) {
	const perBatch, jobTypes = 100, 50
	srv := trappertest.Start(b, nil)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.Addr()}
	cfg.Discovery.ItemDelay = 0
	ctx := context.Background()
	base := time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)
	batch := func(i int) []event {
		var evs []event
		for k := 0; k < perBatch; k++ {
			n := i*perBatch + k
			evs = append(evs, event{site: "fab1", app: "litho", etype: "subjob", id: fmt.Sprintf("10000000-0000-4000-8000-%012d", n),
				key: fmt.Sprintf("lot-%02d", n%jobTypes), kind: "finished", status: "succeeded",
				at: base.Add(time.Duration(n) * time.Millisecond), metrics: map[string]float64{"duration_s": float64(n), "cpu_user_s": 1, "cpu_system_s": 0.5, "mem_max_mb": 100}})
		}
		return evs
	}
	e, err := newExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(b, err)
	require.NoError(b, e.Start(ctx, nil))
	defer func() { require.NoError(b, e.Shutdown(ctx)) }()
	require.NoError(b, e.pushLogs(ctx, logsOf(batch(0)...)), "announces and confirms the job types")
	before := len(srv.Values())
	require.NoError(b, e.pushLogs(ctx, logsOf(batch(1)...)))
	valuesPerBatch := len(srv.Values()) - before
	client, err := zabbixsender.New(zabbixsender.Config{Endpoints: []string{srv.Addr()}, MaxValuesPerRequest: cfg.MaxValuesPerRequest})
	require.NoError(b, err)
	r := jobType{app: "litho", entityType: "subjob"}

	// Each iteration times both, so that the machine's load weighs on both
	// alike.
	var exporterTime, senderTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ld := logsOf(batch(i + 2)...)
		values := make([]zabbixsender.Value, valuesPerBatch)
		for k := range values {
			r.job = fmt.Sprintf("lot-%02d", k%jobTypes)
			at := base.Add(time.Duration(i*valuesPerBatch+k) * time.Millisecond)
			values[k] = zabbixsender.Value{Host: "fab1-litho", Key: itemKey(itemDuration, &r), Value: "1", Clock: at.Unix(), NS: at.Nanosecond()}
		}
		start := time.Now()
		if err := e.pushLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := client.Send(ctx, values); err != nil {
			b.Fatal(err)
		}
		exporterTime += mid.Sub(start)
		senderTime += time.Since(mid)
	}
	b.ReportMetric(float64(exporterTime.Nanoseconds())/float64(b.N*perBatch), "exporter-ns/event")
	b.ReportMetric(float64(senderTime.Nanoseconds())/float64(b.N*perBatch), "sender-ns/event")
	b.ReportMetric(float64(exporterTime)/float64(senderTime), "exporter/sender")
}
