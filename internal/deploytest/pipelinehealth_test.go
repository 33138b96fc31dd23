package deploytest

import (
	"slices"
	"strings"
	"testing"
)

// TestShippedConfigsWatchPipelineHealth: every shipped configuration that
// runs the v1 receiver lists the pipeline_health extension in
// service::extensions, so that GET /v1/health tells the health of the
// receiver's pipelines: the configuration files, the YAML examples of the
// docs and READMEs, and the chart's rendered configurations.
func TestShippedConfigsWatchPipelineHealth(t *testing.T) {
	checked := 0
	check := func(what string, cfg map[string]any) {
		t.Helper()
		exts, listed := dig(cfg, "service", "extensions").([]any)
		if !listed || !runsV1Receiver(cfg) {
			return // not a whole configuration of the v1 receiver
		}
		checked++
		if !slices.Contains(exts, any("pipeline_health")) {
			t.Errorf("%s: service::extensions %v has no pipeline_health: its v1 health answer cannot see the exporters", what, exts)
		}
	}
	forEachShippedConfig(t, check)
	files := checked
	helmBinary(t)
	for _, c := range valuesCases(t) {
		r := render(t, c.args()...)
		for _, w := range r.workloads {
			if text, ok := configOf(t, r, w); ok {
				check("chart "+c.name+", "+w.component, parseConfig(t, text))
			}
		}
	}
	t.Logf("%d configurations of the v1 receiver checked, %d of them rendered by the chart", checked, checked-files)
	if files < 8 || checked-files < 3 {
		t.Errorf("only %d shipped files and %d rendered configurations run the v1 receiver: the search is broken", files, checked-files)
	}
}

// runsV1Receiver reports whether a pipeline of cfg takes the v1 receiver.
func runsV1Receiver(cfg map[string]any) bool {
	pipelines, _ := dig(cfg, "service", "pipelines").(map[string]any)
	for _, p := range pipelines {
		receivers, _ := dig(p, "receivers").([]any)
		for _, r := range receivers {
			if s, _ := r.(string); s == "wafermonitor" || strings.HasPrefix(s, "wafermonitor/") {
				return true
			}
		}
	}
	return false
}
