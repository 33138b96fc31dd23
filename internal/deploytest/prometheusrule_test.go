package deploytest

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prometheusRule mirrors monitoring.coreos.com/v1 PrometheusRule as far as
// the chart sets it; its groups and rules are those of a rules file.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []promRuleGroup `json:"groups"`
	} `json:"spec"`
}

// chartRulesLink is the chart's link to the shipped rules file.
func chartRulesLink(t testing.TB) string {
	return filepath.Join(chartDir(t), "files", "wafermonitor-rules.yaml")
}

// TestChartPrometheusRule: with prometheusRule.enabled the chart renders one
// PrometheusRule whose groups are deploy/prometheus/wafermonitor-rules.yaml's
// as they are, with prometheusRule.ruleLabels added to every rule (a rule's
// own label of the same name kept) and prometheusRule.labels and annotations
// on the object; none without it, in every mode. The chart reads the file
// through a link, so that there is one rules file, and a packaged chart
// carries the file itself.
func TestChartPrometheusRule(t *testing.T) {
	helmBinary(t)
	fileRules := loadRules(t)

	if fi, err := os.Lstat(chartRulesLink(t)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s must be a link to deploy/prometheus/wafermonitor-rules.yaml, the one rules file: %v %v", chartRulesLink(t), fi, err)
	} else if target, err := filepath.EvalSymlinks(chartRulesLink(t)); err != nil || target != rulesPath(t) {
		t.Errorf("%s links to %s (%v), want %s", chartRulesLink(t), target, err, rulesPath(t))
	}

	for _, mode := range []string{"agent", "gateway", "agent-gateway"} {
		if rules := all[*prometheusRule](render(t, "--set", "mode="+mode)); len(rules) != 0 {
			t.Errorf("mode=%s: a PrometheusRule without prometheusRule.enabled", mode)
		}
	}

	t.Run("as in the file", func(t *testing.T) {
		pr := onePrometheusRule(t, render(t, "--set", "prometheusRule.enabled=true"))
		checkRuleGroups(t, pr.Spec.Groups, fileRules.Groups)
		if pr.Name != "wm-otelcol-wafermonitor" {
			t.Errorf("name %q", pr.Name)
		}
	})

	t.Run("with labels", func(t *testing.T) {
		values := valuesFile(t, `
mode: agent-gateway
prometheusRule:
  enabled: true
  labels: {release: kube-prometheus-stack}
  annotations: {owner: fab-it}
  ruleLabels: {team: fab-ops, severity: page}
`)
		args := []string{"--values", values}
		out, errOut, err := runHelm(t, append([]string{"lint", "--strict", "--namespace", namespace, "--kube-version", kubeVersion, chartDir(t)}, args...)...)
		if err != nil {
			t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
		}
		pr := onePrometheusRule(t, render(t, args...))
		if pr.Labels["release"] != "kube-prometheus-stack" || pr.Labels["app.kubernetes.io/instance"] != releaseName {
			t.Errorf("labels %v: want the chart's and prometheusRule.labels", pr.Labels)
		}
		if pr.Annotations["owner"] != "fab-it" {
			t.Errorf("annotations %v", pr.Annotations)
		}
		want := deepCopyGroups(t, fileRules.Groups)
		for gi := range want {
			for ri := range want[gi].Rules {
				r := &want[gi].Rules[ri]
				labels := map[string]string{"team": "fab-ops", "severity": "page"}
				maps.Copy(labels, r.Labels)
				r.Labels = labels
			}
		}
		checkRuleGroups(t, pr.Spec.Groups, want)
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if r.Labels["severity"] == "page" {
					t.Errorf("%s: severity %q replaced the rule's own", r.Alert, r.Labels["severity"])
				}
			}
		}
	})

	t.Run("unknown key", func(t *testing.T) {
		_, errOut, err := runHelm(t, "template", releaseName, chartDir(t), "--set", "prometheusRule.enable=true")
		if err == nil || !strings.Contains(errOut, "enable") {
			t.Errorf("prometheusRule.enable (a typo) rendered: %v %s", err, errOut)
		}
	})

	t.Run("packaged", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, err := runHelm(t, "package", chartDir(t), "--destination", dir)
		if err != nil {
			t.Fatalf("helm package: %v\n%s%s", err, out, errOut)
		}
		tgz, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
		if err != nil || len(tgz) != 1 {
			t.Fatalf("helm package wrote %v (%v)", tgz, err)
		}
		out, errOut, err = runHelm(t, "template", releaseName, tgz[0], "--namespace", namespace, "--kube-version", kubeVersion, "--set", "prometheusRule.enabled=true")
		if err != nil {
			t.Fatalf("helm template of the packaged chart: %v\n%s", err, errOut)
		}
		checkRuleGroups(t, onePrometheusRule(t, decodeManifests(t, out)).Spec.Groups, fileRules.Groups)
	})
}

func onePrometheusRule(t *testing.T, r *rendered) *prometheusRule {
	t.Helper()
	rules := all[*prometheusRule](r)
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules rendered, want 1", len(rules))
	}
	return rules[0]
}

// checkRuleGroups compares rule groups as the Prometheus Operator reads them.
func checkRuleGroups(t *testing.T, got, want []promRuleGroup) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("the PrometheusRule's groups differ from the rules file's:\n%s\nwant\n%s", g, w)
	}
}

func deepCopyGroups(t *testing.T, groups []promRuleGroup) []promRuleGroup {
	t.Helper()
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	var out []promRuleGroup
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
