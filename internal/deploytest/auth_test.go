package deploytest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// defaultEndpoints are where receivers listen without an endpoint setting.
var defaultEndpoints = map[string]string{
	"wafermonitor": "localhost:17000",
	"otlp/grpc":    "localhost:4317",
	"otlp/http":    "localhost:4318",
}

// listener is one address a receiver listens on.
type listener struct {
	// what names it: the receiver, and for OTLP the protocol.
	what     string
	endpoint string
	auth     bool
}

// receiverListeners lists the listeners of a collector configuration's
// receivers: each OTLP protocol, the wafermonitor receiver, and any other
// receiver with an endpoint.
func receiverListeners(cfg map[string]any) []listener {
	receivers, _ := cfg["receivers"].(map[string]any)
	var out []listener
	add := func(what string, settings any, defaultEndpoint string) {
		m, _ := settings.(map[string]any)
		endpoint, _ := m["endpoint"].(string)
		if endpoint == "" {
			endpoint = defaultEndpoint
		}
		authenticator, _ := dig(m, "auth", "authenticator").(string)
		out = append(out, listener{what: what, endpoint: endpoint, auth: authenticator != ""})
	}
	for id, r := range receivers {
		typ, _, _ := strings.Cut(id, "/")
		switch {
		case typ == "otlp":
			protocols, _ := dig(r, "protocols").(map[string]any)
			for _, p := range []string{"grpc", "http"} {
				if settings, ok := protocols[p]; ok {
					add(fmt.Sprintf("receiver %s (%s)", id, p), settings, defaultEndpoints["otlp/"+p])
				}
			}
		case typ == "wafermonitor":
			add("receiver "+id, r, defaultEndpoints[typ])
		case dig(r, "endpoint") != nil:
			add("receiver "+id, r, "")
		}
	}
	slices.SortFunc(out, func(a, b listener) int { return strings.Compare(a.what, b.what) })
	return out
}

// beyondLoopback reports whether an endpoint may listen on an interface
// other than loopback: an address of all interfaces or of a network, a
// host name other than localhost, or an environment variable, with or
// without a default: it is there to be set, e.g. WAFERMONITOR_OTLP_GRPC_ENDPOINT
// to 0.0.0.0:4317 (README).
func beyondLoopback(endpoint string) bool {
	if strings.Contains(endpoint, "${") {
		return true
	}
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// receiversWithoutAuth lists, for a configuration that puts an
// authenticator on any receiver, every receiver listener beyond loopback
// that has none: a client that is refused on one port would be taken on
// the other (e.g. forged wafer events over OTLP next to an authenticated
// v1 port).
func receiversWithoutAuth(cfg map[string]any) []string {
	listeners := receiverListeners(cfg)
	if !slices.ContainsFunc(listeners, func(l listener) bool { return l.auth }) {
		return nil
	}
	var problems []string
	for _, l := range listeners {
		if !l.auth && beyondLoopback(l.endpoint) {
			problems = append(problems, fmt.Sprintf("%s listens on %s without an authenticator, while another receiver requires one: "+
				"set auth::authenticator on every receiver that listens beyond loopback", l.what, l.endpoint))
		}
	}
	return problems
}

// TestReceiversWithoutAuthCheck: the check finds an unauthenticated
// listener beyond loopback next to an authenticated one, and accepts
// configurations without auth, with auth everywhere, or whose other
// listeners are on loopback.
func TestReceiversWithoutAuthCheck(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // the receivers reported
	}{
		{"no auth anywhere", `
receivers:
  wafermonitor: {endpoint: 0.0.0.0:17000}
  otlp: {protocols: {grpc: {endpoint: 0.0.0.0:4317}}}`, nil},
		{"v1 only, OTLP on all interfaces", `
receivers:
  wafermonitor: {endpoint: 0.0.0.0:17000, auth: {authenticator: bearertokenauth}}
  otlp: {protocols: {grpc: {endpoint: 0.0.0.0:4317}, http: {endpoint: "${env:OTLP_HTTP:-localhost:4318}"}}}`,
			[]string{"receiver otlp (grpc)", "receiver otlp (http)"}},
		{"OTLP gRPC only, v1 on a host name and an env var without default", `
receivers:
  wafermonitor/a: {endpoint: collector.fab1:17000}
  wafermonitor/b: {endpoint: "${env:V1_ENDPOINT}"}
  otlp: {protocols: {grpc: {endpoint: "[::]:4317", auth: {authenticator: basicauth}}}}`,
			[]string{"receiver wafermonitor/a", "receiver wafermonitor/b"}},
		{"every receiver", `
receivers:
  wafermonitor: {endpoint: 0.0.0.0:17000, auth: {authenticator: bearertokenauth}}
  otlp:
    protocols:
      grpc: {endpoint: 0.0.0.0:4317, auth: {authenticator: bearertokenauth}}
      http: {endpoint: 0.0.0.0:4318, auth: {authenticator: bearertokenauth}}`, nil},
		{"the others on loopback or by default", `
receivers:
  wafermonitor: {endpoint: 0.0.0.0:17000, auth: {authenticator: bearertokenauth}}
  wafermonitor/local: {endpoint: "127.0.0.2:17001"}
  otlp: {protocols: {grpc: {endpoint: "[::1]:4317"}, http: }}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg map[string]any
			if err := sigsyaml.Unmarshal([]byte(tc.yaml), &cfg); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range receiversWithoutAuth(cfg) {
				what, _, _ := strings.Cut(p, " listens on ")
				got = append(got, what)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("reported %v, want %v", got, tc.want)
			}
		})
	}
}

// overlay is over merged onto base as the collector merges a second
// --config file: maps key by key, everything else (lists too) replaced.
func overlay(base, over any) any {
	b, okB := base.(map[string]any)
	o, okO := over.(map[string]any)
	if !okB || !okO {
		return over
	}
	out := make(map[string]any, len(b)+len(o))
	for k, v := range b {
		out[k] = v
	}
	for k, v := range o {
		out[k] = overlay(b[k], v)
	}
	return out
}

// shippedYAMLExamples are the YAML blocks with receivers in the docs and
// the component READMEs, and the YAML files of the docs, by where they are.
func shippedYAMLExamples(t *testing.T, root string) map[string][]byte {
	t.Helper()
	examples := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, filepath.Join(root, "otelcol-config.yaml")) {
		b, err := os.ReadFile(f) //nolint:gosec // the repository's own files
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		examples[rel] = b
	}
	var docs []string
	for _, pattern := range []string{"*.md", "docs/*.md", "*/*/README.md", "deploy/helm/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, m...)
	}
	block := regexp.MustCompile("(?s)```ya?ml\n(.*?)```")
	for _, f := range docs {
		b, err := os.ReadFile(f) //nolint:gosec // the repository's own files
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for i, m := range block.FindAllSubmatch(b, -1) {
			if strings.Contains(string(m[1]), "receivers:") {
				examples[fmt.Sprintf("%s, YAML block %d", rel, i+1)] = m[1]
			}
		}
	}
	return examples
}

// TestShippedConfigsAuthEveryReceiver: no configuration we ship puts an
// authenticator on one receiver and leaves another that may listen beyond
// loopback open: otelcol-config.yaml, the docs' YAML files, every YAML
// example with receivers in the docs and component READMEs, alone and as a
// second file on top of otelcol-config.yaml (whose listeners are set by
// environment variables), and every configuration the Helm chart renders
// for its modes and values files.
func TestShippedConfigsAuthEveryReceiver(t *testing.T) {
	root := repoRoot(t)
	var defaults map[string]any
	if b, err := os.ReadFile(filepath.Join(root, "otelcol-config.yaml")); err != nil {
		t.Fatal(err)
	} else if err := sigsyaml.Unmarshal(b, &defaults); err != nil {
		t.Fatal(err)
	}
	withAuth := 0
	check := func(what string, cfg map[string]any) {
		t.Helper()
		for _, p := range receiversWithoutAuth(cfg) {
			t.Errorf("%s: %s", what, p)
		}
		if slices.ContainsFunc(receiverListeners(cfg), func(l listener) bool { return l.auth }) {
			withAuth++
		}
	}
	for what, b := range shippedYAMLExamples(t, root) {
		var cfg map[string]any
		if err := sigsyaml.Unmarshal(b, &cfg); err != nil {
			t.Errorf("%s does not parse: %v", what, err)
			continue
		}
		check(what, cfg)
		check(what+" on top of otelcol-config.yaml", overlay(defaults, cfg).(map[string]any))
	}
	for _, c := range valuesCases(t) {
		r := render(t, c.args()...)
		for _, w := range r.workloads {
			text, ok := configOf(t, r, w)
			if !ok {
				t.Errorf("chart %s: %s %s has no config", c.name, w.kind, w.name)
				continue
			}
			check(fmt.Sprintf("chart %s: %s %s", c.name, w.kind, w.name), parseConfig(t, text))
		}
	}
	// docs/security.md's example at least: a check that never meets an
	// authenticator checks nothing.
	if withAuth == 0 {
		t.Fatal("no shipped configuration with an authenticator on a receiver: the files looked at are wrong")
	}
	t.Logf("%d shipped configurations put an authenticator on a receiver", withAuth)
}

// TestChartAuthAgentToGateway runs the configurations the chart renders for
// examples/agent-gateway-auth.yaml (auth.bearerToken): an agent in front of
// a gateway, both with the token from the environment as the Secret would
// set it. Without the token the agent's v1 and OTLP ports and the gateway's
// OTLP port answer 401; with it the agent takes a job, and forwards it to
// the gateway, which writes its rows.
func TestChartAuthAgentToGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two collectors")
	}
	const token = "tok-Yq8w-chart"
	r := render(t, "--values", filepath.Join(chartDir(t), "examples", "agent-gateway-auth.yaml"))
	start := func(cfg map[string]any, dir string, healthPort int) {
		b, err := sigsyaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testcollector.Start(t, string(b), testcollector.Options{
			Dir: dir, Env: []string{"WAFERMONITOR_TOKEN=" + token},
			HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", healthPort),
		})
	}
	gwDir := t.TempDir()
	gwCfg, gwPorts := localConfig(t, componentConfig(t, r, "gateway"), gwDir)
	start(gwCfg, gwDir, gwPorts[13133])
	agentDir := t.TempDir()
	agentCfg, agentPorts := localConfig(t, componentConfig(t, r, "agent"), agentDir)
	lb := dig(agentCfg, "exporters", "loadbalancing").(map[string]any)
	lb["resolver"] = map[string]any{"static": map[string]any{"hostnames": []string{fmt.Sprintf("127.0.0.1:%d", gwPorts[4317])}}}
	start(agentCfg, agentDir, agentPorts[13133])

	post := func(url, contentType string, body []byte, authorization string) int {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	evs := jobEvents(3)
	job := evs[0].job
	v1 := fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", agentPorts[17000])
	otlpLogs := []string{
		fmt.Sprintf("http://127.0.0.1:%d/v1/logs", agentPorts[4318]),
		fmt.Sprintf("http://127.0.0.1:%d/v1/logs", gwPorts[4318]),
	}
	if got := post(v1, "application/json", batchBody(evs), ""); got != http.StatusUnauthorized {
		t.Errorf("agent v1 without the token: %d, want 401", got)
	}
	for _, url := range otlpLogs {
		for _, authorization := range []string{"", "Bearer wrong"} {
			if got := post(url, "application/json", []byte(`{"resourceLogs":[]}`), authorization); got != http.StatusUnauthorized {
				t.Errorf("OTLP/HTTP %s with authorization %q: %d, want 401", url, authorization, got)
			}
		}
	}
	if got := post(v1, "application/json", batchBody(evs), "Bearer "+token); got != http.StatusOK {
		t.Fatalf("agent v1 with the token: %d, want 200", got)
	}
	testcollector.WaitFor(t, 60*time.Second, "the job's events at the gateway", func() bool {
		logs, _ := rowsAt(t, gwDir)
		return logs[job] == len(evs)
	})
	t.Logf("refused without the token: agent v1, agent and gateway OTLP/HTTP; job of %d events forwarded with the token", len(evs))
}
