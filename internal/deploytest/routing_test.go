package deploytest

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// localConfig turns a configuration the chart rendered for a pod into one
// that runs on this machine: every 0.0.0.0:PORT listener and the
// self-metrics port on a free loopback port (the mapping is returned), the
// data directory in dir.
func localConfig(t testing.TB, cfg map[string]any, dir string) (map[string]any, map[int]int) {
	t.Helper()
	ports := map[int]int{}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if p, ok := strings.CutPrefix(x, "0.0.0.0:"); ok {
				n, err := strconv.Atoi(p)
				if err != nil {
					t.Fatalf("listener %q", x)
				}
				if ports[n] == 0 {
					ports[n] = testcollector.FreePort(t)
				}
				return fmt.Sprintf("127.0.0.1:%d", ports[n])
			}
			return strings.ReplaceAll(x, "/var/lib/otelcol-wafermonitor", dir)
		}
		return v
	}
	walk(cfg)
	// The collector's own metrics on a loopback port too.
	readers, _ := dig(cfg, "service", "telemetry", "metrics", "readers").([]any)
	for _, r := range readers {
		if prom, ok := dig(r, "pull", "exporter", "prometheus").(map[string]any); ok {
			n := int(prom["port"].(float64))
			if ports[n] == 0 {
				ports[n] = testcollector.FreePort(t)
			}
			prom["host"], prom["port"] = "127.0.0.1", ports[n]
		}
	}
	return cfg, ports
}

// startFromConfig runs the collector on cfg in dir and waits for its
// health_check extension.
func startFromConfig(t testing.TB, cfg map[string]any, dir string, healthPort int) *testcollector.Collector {
	t.Helper()
	b, err := sigsyaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testcollector.Start(t, string(b), testcollector.Options{
		Dir:       dir,
		HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", healthPort),
	})
}

// rowsAt counts the CSV rows per job that a collector with the chart's
// default outputs wrote under dir: events (log records) and entities
// (spans). Entity rows whose trace ID is not their job's UUID are reported.
func rowsAt(t testing.TB, dir string) (events, entities map[string]int) {
	t.Helper()
	// A file may end in half a row while the collector writes: the complete
	// rows count, the rest is read at the next poll.
	ev, _ := readCSVOutput(t, filepath.Join(dir, "csv"), csvEvents)
	en, _ := readCSVOutput(t, filepath.Join(dir, "csv"), csvEntities)
	for _, r := range en.rows {
		if want := strings.ReplaceAll(jobOf(r), "-", ""); r["trace_id"] != want {
			t.Errorf("%s %s: trace ID %q, want its job's UUID %s", r["entity_type"], r["entity_id"], r["trace_id"], want)
		}
	}
	return rowsPerJob(ev.rows), rowsPerJob(en.rows)
}

// postJobs sends jobs of 3 subjobs to a v1 port, one request each, and
// returns the number of events; every request must be answered 200.
func postJobs(t testing.TB, port, jobs int) int {
	t.Helper()
	sent := 0
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", port)
	for i := 0; i < jobs; i++ {
		body, n := jobBatch(3)
		resp, err := http.Post(url, "application/json", strings.NewReader(string(body))) //nolint:gosec // loopback
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", url, resp.Status)
		}
		sent += n
	}
	return sent
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestAgentRoutesJobsToOneGateway runs the configurations the chart renders
// for mode agent-gateway: one agent in front of two gateway replicas (the
// agent's DNS resolver replaced by the two loopback addresses), and checks
// that every event of a job reaches the same replica.
func TestAgentRoutesJobsToOneGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three collectors")
	}
	r := render(t, "--set", "mode=agent-gateway")

	var gatewayOTLP []string
	var gatewayDirs []string
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		cfg, ports := localConfig(t, componentConfig(t, r, "gateway"), dir)
		startFromConfig(t, cfg, dir, ports[13133])
		gatewayOTLP = append(gatewayOTLP, fmt.Sprintf("127.0.0.1:%d", ports[4317]))
		gatewayDirs = append(gatewayDirs, dir)
	}

	agentDir := t.TempDir()
	agentCfg, agentPorts := localConfig(t, componentConfig(t, r, "agent"), agentDir)
	lb := dig(agentCfg, "exporters", "loadbalancing").(map[string]any)
	lb["resolver"] = map[string]any{"static": map[string]any{"hostnames": gatewayOTLP}}
	startFromConfig(t, agentCfg, agentDir, agentPorts[13133])

	const jobs = 24
	sent := postJobs(t, agentPorts[17000], jobs)

	const spansPerJob = 1 + 3
	logs := make([]map[string]int, 2)
	spans := make([]map[string]int, 2)
	testcollector.WaitFor(t, 60*time.Second, "every event and span at a gateway", func() bool {
		for i, dir := range gatewayDirs {
			logs[i], spans[i] = rowsAt(t, dir)
		}
		return sum(logs[0])+sum(logs[1]) >= sent && sum(spans[0])+sum(spans[1]) >= jobs*spansPerJob
	})
	t.Logf("%d events of %d jobs: %d jobs at gateway 0, %d at gateway 1", sent, jobs, len(logs[0]), len(logs[1]))
	for i, other := range []int{1, 0} {
		for id := range logs[i] {
			if _, ok := logs[other][id]; ok {
				t.Errorf("the events of job %s reached both gateways", id)
			}
			if spans[i][id] != spansPerJob {
				t.Errorf("job %s: %d of its %d spans at the gateway that has its events", id, spans[i][id], spansPerJob)
			}
		}
	}
	if len(logs[0])+len(logs[1]) != jobs {
		t.Errorf("%d and %d distinct jobs at the gateways, want %d in all", len(logs[0]), len(logs[1]), jobs)
	}
	if len(logs[0]) == 0 || len(logs[1]) == 0 {
		t.Errorf("all %d jobs went to one gateway (%d, %d)", jobs, len(logs[0]), len(logs[1]))
	}
	perGateway := logs
	for _, ids := range perGateway {
		for id := range ids {
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("job ID %q (its trace ID) is not a UUID", id)
			}
		}
	}
}

// TestAgentQueueSurvivesGatewayOutageAndKill: while the gateway is down, the
// chart's agent answers 200 for what it wrote to its persistent queue; killed
// with SIGKILL and started again, it delivers every event once the gateway is
// up. An in-memory stage after the queue (the per-gateway OTLP exporters'
// own queues, on by default) would take the events off the disk and lose
// them with the process.
func TestAgentQueueSurvivesGatewayOutageAndKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two collectors")
	}
	r := render(t, "--set", "mode=agent-gateway")
	gwDir := t.TempDir()
	gwCfg, gwPorts := localConfig(t, componentConfig(t, r, "gateway"), gwDir)

	agentDir := t.TempDir()
	agentCfg, agentPorts := localConfig(t, componentConfig(t, r, "agent"), agentDir)
	lb := dig(agentCfg, "exporters", "loadbalancing").(map[string]any)
	lb["resolver"] = map[string]any{"static": map[string]any{"hostnames": []string{fmt.Sprintf("127.0.0.1:%d", gwPorts[4317])}}}
	agent := startFromConfig(t, agentCfg, agentDir, agentPorts[13133])

	const jobs = 10
	sent := postJobs(t, agentPorts[17000], jobs)
	// The agent has tried to send to the missing gateway: whatever its queue
	// consumers took is past the disk. The loadbalancing exporter counts
	// every failed attempt in its own telemetry (the exporter helper's
	// send_failed counts only batches given up on, never with
	// max_elapsed_time 0).
	agentMetrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", agentPorts[8888])
	testcollector.WaitFor(t, 30*time.Second,
		`a failed send to the missing gateway: otelcol_loadbalancer_backend_outcome{success="false"} above 0 at `+agentMetrics,
		func() bool {
			return scrapeGauge(t, agentMetrics, "otelcol_loadbalancer_backend_outcome", `success="false"`) > 0
		})
	agent.Kill()

	startFromConfig(t, gwCfg, gwDir, gwPorts[13133])
	startFromConfig(t, agentCfg, agentDir, agentPorts[13133])
	var logs map[string]int
	testcollector.WaitFor(t, 60*time.Second, "every accepted event at the gateway", func() bool {
		logs, _ = rowsAt(t, gwDir)
		return sum(logs) >= sent && len(logs) == jobs
	})
	t.Logf("%d events of %d jobs accepted while the gateway was down, %d at the gateway after a SIGKILL of the agent", sent, jobs, sum(logs))
}
