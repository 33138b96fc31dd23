package deploytest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGatewayPipeline: v1 events per second through the real collector
// with the configuration the chart renders for a gateway that takes v1
// events (memory_limiter → jobhierarchy with its state in file_storage →
// the csv exporter with its persistent queue), from 4 concurrent clients sending one job
// (1 + 24×2 + 1 = 50 events) per request, and the collector's resident
// memory at the end. events/s is the rate at which the receiver accepted
// events (answered 200: in the csv exporter's queue on disk; the chart's
// queue holds 100,000 items, so 2,000 jobs never wait for the files);
// rows/s_in_files is the rate from the first request until the CSV event
// files held a row for every accepted event.
//
//	go test -run '^$' -bench GatewayPipeline -benchtime 2000x ./internal/deploytest/
func BenchmarkGatewayPipeline(b *testing.B) {
	r := render(b, "--set", "mode=gateway", "--set", "gateway.ports.v1.enabled=true")
	dir := b.TempDir()
	cfg, ports := localConfig(b, componentConfig(b, r, "gateway"), dir)
	startFromConfig(b, cfg, dir, ports[13133])
	start := time.Now()
	accepted := sendJobs(b, ports[17000])
	reportRSS(b, ports[8888], "MiB_rss")

	// The csv exporter counts a batch as sent once its rows are written to
	// the file (flush_interval 0, the chart's default): poll that cheaply,
	// then read the files to check they hold every accepted event.
	waitForCount(b, ports[8888], "otelcol_exporter_sent_log_records", `exporter="csv"`, accepted, 5*time.Minute)
	written := time.Since(start)
	files, err := readCSVOutput(b, filepath.Join(dir, "csv"), csvEvents)
	if err != nil {
		b.Fatalf("CSV event files: %v", err)
	}
	if len(files.rows) < accepted {
		b.Fatalf("the csv exporter reports %d events sent, but the CSV event files hold %d rows", accepted, len(files.rows))
	}
	b.ReportMetric(float64(accepted)/written.Seconds(), "rows/s_in_files")
}

// BenchmarkAgentToGateway: the same load into the chart's agent of mode
// agent-gateway (memory_limiter → loadbalancing by trace ID with a
// persistent queue), forwarding to the chart's gateway; both real collectors
// on this machine. events/s is what the agent accepted (in its persistent
// queue), events/s_at_gateway until the gateway received every log record.
//
//	go test -run '^$' -bench AgentToGateway -benchtime 2000x ./internal/deploytest/
func BenchmarkAgentToGateway(b *testing.B) {
	r := render(b, "--set", "mode=agent-gateway")
	gwDir := b.TempDir()
	gwCfg, gwPorts := localConfig(b, componentConfig(b, r, "gateway"), gwDir)
	startFromConfig(b, gwCfg, gwDir, gwPorts[13133])

	agentDir := b.TempDir()
	agentCfg, agentPorts := localConfig(b, componentConfig(b, r, "agent"), agentDir)
	lb := dig(agentCfg, "exporters", "loadbalancing").(map[string]any)
	lb["resolver"] = map[string]any{"static": map[string]any{"hostnames": []string{fmt.Sprintf("127.0.0.1:%d", gwPorts[4317])}}}
	startFromConfig(b, agentCfg, agentDir, agentPorts[13133])

	start := time.Now()
	events := sendJobs(b, agentPorts[17000])
	reportRSS(b, agentPorts[8888], "MiB_rss_agent")
	// Until the gateway has every log record: the end-to-end rate.
	waitForCount(b, gwPorts[8888], "otelcol_receiver_accepted_log_records", `receiver="otlp"`, events, 2*time.Minute)
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s_at_gateway")
	reportRSS(b, gwPorts[8888], "MiB_rss_gateway")
}

// sendJobs posts b.N jobs of 50 events from 4 concurrent clients, reports
// the events accepted (requests answered 200; a batch is all-or-nothing) per
// second and the refused requests, and returns the number of events
// accepted.
func sendJobs(b *testing.B, port int) int {
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", port)
	_, perBatch := jobBatch(24)
	client := &http.Client{Timeout: 30 * time.Second}

	var next, accepted, refused atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				// New IDs each time: the receiver drops repeated events.
				body, _ := jobBatch(24)
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					refused.Add(1)
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	events := int(accepted.Load()) * perBatch
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(refused.Load()), "refused_requests")
	return events
}

func reportRSS(b *testing.B, telemetryPort int, unit string) {
	b.Helper()
	if rss := scrapeGauge(b, fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort), "otelcol_process_memory_rss", ""); rss > 0 {
		b.ReportMetric(rss/(1<<20), unit)
	}
}

// waitForCount polls a collector's telemetry endpoint until the metric
// (prefix, label as for scrapeGauge) reaches want, and fails the benchmark
// after within.
func waitForCount(b *testing.B, telemetryPort int, prefix, label string, want int, within time.Duration) {
	b.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	for deadline := time.Now().Add(within); scrapeGauge(b, url, prefix, label) < float64(want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s{%s} did not reach %d within %s", prefix, label, want, within)
		}
	}
}

// scrapeGauge reads the first sample of a metric whose name starts with
// prefix and whose labels contain label from a Prometheus text endpoint (0
// when there is none).
func scrapeGauge(t testing.TB, url, prefix, label string) float64 {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec // loopback URL of the test's collector
	if err != nil {
		t.Logf("scraping %s: %v", url, err)
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, label) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			return v
		}
	}
	return 0
}
