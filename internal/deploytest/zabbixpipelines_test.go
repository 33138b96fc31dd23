package deploytest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// zabbixInLogsAndTraces lists the zabbix exporters of a collector
// configuration that are in a traces pipeline while a logs pipeline has a
// zabbix exporter: a finished job is then a terminal event and a span, and
// Zabbix stores its values twice (exporter/zabbixexporter/README.md).
func zabbixInLogsAndTraces(cfg map[string]any) []string {
	pipelines, _ := dig(cfg, "service", "pipelines").(map[string]any)
	isZabbix := func(id string) bool { return id == "zabbix" || strings.HasPrefix(id, "zabbix/") }
	var inLogs, inTraces []string
	for name := range pipelines {
		signal, _, _ := strings.Cut(name, "/")
		for _, id := range strs(dig(pipelines, name, "exporters")) {
			switch {
			case !isZabbix(id):
			case signal == "logs":
				inLogs = append(inLogs, fmt.Sprintf("%s (pipeline %s)", id, name))
			case signal == "traces":
				inTraces = append(inTraces, fmt.Sprintf("%s (pipeline %s)", id, name))
			}
		}
	}
	if len(inLogs) == 0 {
		return nil
	}
	sort.Strings(inLogs)
	sort.Strings(inTraces)
	var problems []string
	for _, t := range inTraces {
		problems = append(problems, fmt.Sprintf("exporter %s sends finished jobs to Zabbix a second time beside %s: keep zabbix in the logs pipeline only",
			t, strings.Join(inLogs, ", ")))
	}
	return problems
}

func TestZabbixInLogsAndTracesCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []string // exporters reported
	}{
		{"logs only", `
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [zabbix, csv]}
    traces: {receivers: [otlp], exporters: [csv]}
    metrics: {receivers: [otlp], exporters: [zabbix]}
`, nil},
		{"traces only", `
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [zabbix]}
`, nil},
		{"the same exporter in both", `
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [zabbix, csv]}
    traces: {receivers: [otlp], exporters: [csv, zabbix]}
`, []string{"zabbix (pipeline traces)"}},
		{"named exporters and pipelines", `
service:
  pipelines:
    logs/v1: {receivers: [wafermonitor], exporters: [zabbix/fab1]}
    traces/otlp: {receivers: [otlp], exporters: [zabbix/fab2, zabbixish]}
`, []string{"zabbix/fab2 (pipeline traces/otlp)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg map[string]any
			if err := sigsyaml.Unmarshal([]byte(tt.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			got := zabbixInLogsAndTraces(cfg)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want problems with %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], "exporter "+w) {
					t.Errorf("got %q, want it about %q", got[i], w)
				}
			}
			if slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "zabbixish") }) {
				t.Errorf("an exporter that is not zabbix reported: %q", got)
			}
		})
	}
}
