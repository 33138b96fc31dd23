package deploytest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestChartDefaultSurvivesKill runs the configuration the chart renders by
// default (mode agent exporting directly: memory_limiter → jobhierarchy →
// the csv exporter with a persistent queue, flush_interval 0s)
// as a real collector, posts v1 jobs from 4 clients, kills it with SIGKILL
// under load, starts it again on the same data directory, and checks that
// every event answered 200 is in the CSV event files at least once, and
// every finished job and subjob of an accepted request in the entity files
// (see killRun). The same run with flush_interval 1s, whose rows wait in
// memory after the queue let go of them, loses accepted rows: at most what
// the writer's buffers hold (see killRun.measure).
func TestChartDefaultSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector under load")
	}
	r := render(t)
	if got := len(r.workloads); got != 1 || r.workloads[0].component != "agent" {
		t.Fatalf("the chart's default renders %d workloads, want one agent", got)
	}
	t.Run("chart_default", func(t *testing.T) {
		chartKillRun(t, componentConfig(t, r, "agent"), false).run(t)
	})
	t.Run("flush_interval_1s", func(t *testing.T) {
		cfg := componentConfig(t, r, "agent")
		dig(cfg, "exporters", "csv").(map[string]any)["flush_interval"] = "1s"
		chartKillRun(t, cfg, true).run(t)
	})
}

// chartKillRun is a chart configuration with the csv output on this machine,
// loaded by 4 batch clients and killed after 5000 accepted events.
func chartKillRun(t *testing.T, chartCfg map[string]any, measure bool) killRun {
	dir := t.TempDir()
	cfg, ports := localConfig(t, chartCfg, dir)
	return killRun{
		start:        func() *testcollector.Collector { return startFromConfig(t, cfg, dir, ports[13133]) },
		v1Port:       ports[17000],
		csvDir:       filepath.Join(dir, "csv"),
		batchClients: 4,
		killAfter:    5000,
		wait:         60 * time.Second,
		measure:      measure,
	}
}
