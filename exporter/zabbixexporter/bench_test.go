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
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
)

// BenchmarkRealZabbix measures values delivered to a real Zabbix 6.0 server
// (processed, as the server reports them) over 50 discovered job types,
// i.e. 600 items: the server stores only about 2,000 values per second into
// a single item, so batches are spread over many.
//
//	go test -run '^$' -bench RealZabbix -benchtime 20x ./exporter/zabbixexporter/
func BenchmarkRealZabbix(b *testing.B) {
	if missing := zabbixtest.Missing(); missing != "" {
		b.Skipf("Zabbix 6.0 is not installed (%s is missing): run .ci/setup.d/50-zabbix.sh as root", missing)
	}
	z := zabbixtest.Start(b)
	z.ImportTemplates()
	const host = "fab1-bench"
	hostID := z.CreateHost(host)
	z.WaitAccepts(host, "wafer.job.recovered", time.Minute)

	e := newRealZabbixExporter(b, z, func(c *Config) { c.Host = "{site}-bench" })
	ctx := context.Background()

	const jobTypes = 50
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var warm []event
	for j := 0; j < jobTypes; j++ {
		warm = append(warm, event{site: "fab1", app: "litho", etype: "subjob", id: fmt.Sprintf("00000000-0000-4000-8000-%012d", j),
			key: fmt.Sprintf("lot-%02d", j), kind: "started", status: "running", at: base})
	}
	// Announces the job types and returns once their items took values.
	deliverAll(b, e, logsOf(warm...))
	item, ok := z.Item(hostID, `wafer.duration["litho","lot-00","subjob"]`)
	require.True(b, ok, "discovered items")

	b.Run("sender/250-per-request", func(b *testing.B) {
		client, err := zabbixsender.New(zabbixsender.Config{Endpoints: []string{z.Trapper}, MaxValuesPerRequest: 250})
		require.NoError(b, err)
		const perBatch = 1000
		items := []string{itemDuration, itemCPUUser, itemCPUSystem, itemMemoryMax, itemCompleted, itemFailures, itemRunning, itemStalls, itemTimeouts, itemEvents}
		processed := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			values := make([]zabbixsender.Value, perBatch)
			for k := range values {
				n := i*perBatch + k
				r := jobType{app: "litho", job: fmt.Sprintf("lot-%02d", n%jobTypes), entityType: "subjob"}
				at := base.Add(time.Duration(n) * time.Millisecond)
				values[k] = zabbixsender.Value{Host: host, Key: itemKey(items[(n/jobTypes)%len(items)], &r), Value: fmt.Sprint(n % 1000), Clock: at.Unix(), NS: at.Nanosecond()}
			}
			res, err := client.Send(ctx, values)
			require.NoError(b, err)
			require.Zero(b, res.Failed)
			processed += res.Processed
		}
		b.ReportMetric(float64(processed)/b.Elapsed().Seconds(), "values/s")
	})

	b.Run("exporter/logs", func(b *testing.B) {
		const perBatch = 100
		before := len(z.History(item))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var evs []event
			for k := 0; k < perBatch; k++ {
				n := i*perBatch + k
				evs = append(evs, event{site: "fab1", app: "litho", etype: "subjob", id: fmt.Sprintf("10000000-0000-4000-8000-%012d", n),
					key: fmt.Sprintf("lot-%02d", n%jobTypes), kind: "finished", status: "succeeded",
					at: base.Add(time.Minute + time.Duration(n)*time.Millisecond), metrics: map[string]float64{"duration_s": float64(n), "cpu_user_s": 1, "cpu_system_s": 0.5, "mem_max_mb": 100}})
			}
			require.NoError(b, e.pushLogs(ctx, logsOf(evs...)))
		}
		b.StopTimer()
		// 10 values per finished event: events, status, outcome, completed,
		// duration, CPU user and system, memory, running, and the legacy
		// key when enabled (not here).
		b.ReportMetric(float64(b.N*perBatch*9)/b.Elapsed().Seconds(), "values/s")
		b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
		want := before + (b.N*perBatch+jobTypes-1)/jobTypes
		testcollector.WaitFor(b, time.Minute, "the values in the history", func() bool { return len(z.History(item)) >= want })
	})
}

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
	// From here on the fake trapper answers without keeping the values, so
	// that its growing store weighs on neither side.
	srv.SetReply(func(req trappertest.Request) *trappertest.Counts {
		return &trappertest.Counts{Processed: len(req.Data)}
	})

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
