package deploytest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestSystemdUnit checks the unit in docs/deploy.md with systemd-analyze
// verify (an unknown key or a missing binary fails), with the built binary
// in ExecStart's place, and the repository's config with the binary.
func TestSystemdUnit(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```ini\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) != 1 {
		t.Fatalf("docs/deploy.md: %d ```ini blocks, want the one systemd unit", len(blocks))
	}
	unit := string(blocks[0][1])
	const installed = "/usr/local/bin/otelcol-wafermonitor"
	if !strings.Contains(unit, "ExecStart="+installed) {
		t.Fatalf("the unit's ExecStart does not run %s", installed)
	}
	bin, err := filepath.Abs(testcollector.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	unit = strings.ReplaceAll(unit, installed, bin)

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed: run `bash .ci/setup.d/31-systemd.sh` (Debian package systemd)")
	}
	file := filepath.Join(t.TempDir(), "otelcol-wafermonitor.service")
	if err := os.WriteFile(file, []byte(unit), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDocsLoadbalancing: the agents' exporter shown in docs/deploy.md is the
// one the chart renders for mode agent-gateway.
func TestDocsLoadbalancing(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(loadbalancing:\n.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deploy.md: no ```yaml block starting with loadbalancing:")
	}
	var shown map[string]any
	if err := sigsyaml.Unmarshal(m[1], &shown); err != nil {
		t.Fatalf("docs/deploy.md loadbalancing block: %v", err)
	}
	cfg := componentConfig(t, render(t, "--set", "mode=agent-gateway"), "agent")
	want, _ := json.Marshal(dig(cfg, "exporters", "loadbalancing"))
	got, _ := json.Marshal(shown["loadbalancing"])
	if string(got) != string(want) {
		t.Errorf("docs/deploy.md shows\n%s\nthe chart renders\n%s", got, want)
	}
}
