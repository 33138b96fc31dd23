package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// rulesPath is the shipped alerting rules file.
func rulesPath(t testing.TB) string {
	return filepath.Join(repoRoot(t), "deploy", "prometheus", "wafermonitor-rules.yaml")
}

// promRuleFile is a Prometheus rules file.
type promRuleFile struct {
	Groups []promRuleGroup `json:"groups"`
}

type promRuleGroup struct {
	Name     string     `json:"name"`
	Interval string     `json:"interval,omitempty"`
	Rules    []promRule `json:"rules"`
}

type promRule struct {
	Alert         string            `json:"alert,omitempty"`
	Record        string            `json:"record,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// loadRules reads the shipped rules file strictly.
func loadRules(t testing.TB) promRuleFile {
	t.Helper()
	b, err := os.ReadFile(rulesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var f promRuleFile
	if err := sigsyaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesPath(t), err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s: no rule groups", rulesPath(t))
	}
	return f
}

// promServer is a Prometheus server process.
type promServer struct {
	url string
}

// startPrometheus runs Debian's prometheus (installed with promtool by
// .ci/setup.d/45-promtool.sh) with the rules files, scraping the targets
// every second as the job "wafermonitor" and evaluating the rules every
// second. It is stopped at the end of the test.
func startPrometheus(t testing.TB, ruleFiles, targets []string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed: run `bash .ci/setup.d/45-promtool.sh` (Debian's prometheus package)")
	}
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
		"rule_files": ruleFiles,
		"scrape_configs": []any{map[string]any{
			"job_name":       "wafermonitor",
			"static_configs": []any{map[string]any{"targets": targets}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil { // JSON is YAML
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	// Read only once Wait has returned, when nothing writes to it any more.
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", output.String())
		}
	})
	p := &promServer{url: "http://" + addr}
	waitUntil(t, "prometheus ready", 60*time.Second, func() (bool, string) {
		select {
		case <-exited:
			t.Fatal("prometheus exited before it was ready")
		default:
		}
		resp, err := http.Get(p.url + "/-/ready") //nolint:gosec // loopback test server
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// api GETs a Prometheus HTTP API path and decodes its data.
func (p *promServer) api(path string, params url.Values, data any) error {
	resp, err := http.Get(p.url + path + "?" + params.Encode()) //nolint:gosec // loopback test server
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, params.Encode(), body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// query evaluates an instant query and returns the labels and value of each
// resulting series.
func (p *promServer) query(q string) ([]promSample, error) {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.api("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	out := make([]promSample, len(data.Result))
	for i, r := range data.Result {
		v, _ := r.Value[1].(string)
		out[i] = promSample{labels: r.Metric, value: v}
	}
	return out, nil
}

type promSample struct {
	labels map[string]string
	value  string
}

// series are the label sets of the series a selector picked since start.
func (p *promServer) series(selector string, start time.Time) ([]map[string]string, error) {
	var data []map[string]string
	err := p.api("/api/v1/series", url.Values{"match[]": {selector}, "start": {fmt.Sprint(start.Unix())}}, &data)
	return data, err
}

// labelNames are the label names of the series a selector picked since start.
func (p *promServer) labelNames(selector string, start time.Time) ([]string, error) {
	var data []string
	err := p.api("/api/v1/labels", url.Values{"match[]": {selector}, "start": {fmt.Sprint(start.Unix())}}, &data)
	return data, err
}

// promAlert is an active (pending or firing) alert.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

func (a promAlert) String() string {
	return fmt.Sprintf("%s %s %v", a.Labels["alertname"], a.State, a.Labels)
}

func (p *promServer) alerts() ([]promAlert, error) {
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := p.api("/api/v1/alerts", nil, &data)
	return data.Alerts, err
}

// waitUntil polls cond until it reports done, and fails the test with the
// last state it reported when that takes longer than timeout.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, state := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, timeout, strings.TrimSpace(state))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
