package deploytest

import (
	"encoding/json"
	"net/http"
	"os"
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

// v1HealthAnswer is what the v1 health answer tells of damaged files.
type v1HealthAnswer struct {
	Status       string `json:"status"`
	DamagedFiles []struct {
		Component string `json:"component"`
		File      string `json:"file"`
		MovedTo   string `json:"moved_to"`
		Problem   string `json:"problem"`
	} `json:"damaged_files"`
}

func v1Health(t *testing.T, v1 string) v1HealthAnswer {
	t.Helper()
	resp, err := http.Get(v1 + "/v1/health") //nolint:gosec // loopback URL of the test's collector
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h v1HealthAnswer
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/health: %s, %v", resp.Status, err)
	}
	return h
}

// checkDamagedInHealth: the v1 health answer lists exactly the files moved
// aside, each with where it is kept and why, and is degraded; once their
// kept copies are removed (acknowledged) it is ok and lists none.
func checkDamagedInHealth(t *testing.T, v1 string, damaged map[string]int64) {
	t.Helper()
	h := v1Health(t, v1)
	if h.Status != "degraded" {
		t.Errorf("health %q with %d files moved aside, want degraded", h.Status, len(damaged))
	}
	kept := map[string]string{}
	for _, d := range h.DamagedFiles {
		kept[d.File] = d.MovedTo
		if d.Component == "" || d.Problem == "" {
			t.Errorf("damaged file %s: component %q, problem %q", d.File, d.Component, d.Problem)
		}
	}
	for f := range damaged {
		if !strings.HasPrefix(kept[f], f+".damaged-") {
			t.Errorf("health lists %s as kept at %q", f, kept[f])
		}
	}
	if len(kept) != len(damaged) {
		t.Errorf("health lists %d damaged files, want %d: %+v", len(kept), len(damaged), h.DamagedFiles)
	}
	for _, moved := range kept {
		if err := os.Remove(moved); err != nil {
			t.Fatal(err)
		}
	}
	if h = v1Health(t, v1); h.Status != "ok" || len(h.DamagedFiles) > 0 {
		t.Errorf("after the kept copies were removed: health %q, damaged files %+v; want ok and none", h.Status, h.DamagedFiles)
	}
	t.Logf("FIGURES health degraded with %d damaged files listed, ok once their kept copies were removed", len(kept))
}
