package zabbixexporter

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// rejectedAlert is the rule of deploy/prometheus/wafermonitor-rules.yaml
// that reads this exporter's counter of values given up.
const rejectedAlert = "WafermonitorZabbixValuesRejected"

// The shipped otelcol-config.yaml, with this exporter added to its logs
// pipeline as a user adds it, drops the values of a host that Zabbix
// refuses, and exposes the count on its own metrics endpoint under the
// name, and with the labels, that the alert reads.
func TestRejectedValuesSeriesOfTheAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector")
	}
	srv := trappertest.Start(t, nil)
	srv.SetRefuse(func(v trappertest.Value) bool { return v.Key != "wafer.discovery" })

	shipped, err := filepath.Abs(filepath.Join("..", "..", "otelcol-config.yaml"))
	require.NoError(t, err)
	env, ports := testcollector.DefaultConfigEnv(t, testcollector.DefaultConfig(t), t.TempDir())
	overlay := fmt.Sprintf(`
exporters:
  zabbix:
    endpoints: [%q]
    discovery:
      item_delay: 0s
      max_refused_time: 0s
service:
  pipelines:
    logs:
      exporters: [csv, zabbix]
`, srv.Addr())
	testcollector.Start(t, overlay, testcollector.Options{Env: env, ConfigFiles: []string{shipped},
		HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"])})

	body := `{"idempotency_key":"7b0c6b8e-3b51-4c1e-9d55-0b7f7f0d9a11","site_id":"fab1","app":{"name":"litho-scheduler"},` +
		`"entity":{"type":"job","id":"a1b2c3d4-0000-4000-8000-000000000001","business_key":"lot-4711"},` +
		`"event":{"kind":"finished","at":"2025-10-19T12:00:00Z","status":"succeeded","metrics":{"duration_s":3}}}`
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/event", ports["WAFERMONITOR_V1_ENDPOINT"]), "application/json", bytes.NewReader([]byte(body))) //nolint:gosec,noctx // loopback
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["WAFERMONITOR_TELEMETRY_PORT"])
	var lines []string
	testcollector.WaitFor(t, 60*time.Second, "the values given up counted", func() bool {
		lines = scrapeLines(t, metricsURL, "otelcol_exporter_zabbix_values_rejected")
		return len(lines) > 0
	})
	require.Len(t, lines, 1)
	name, labels, value := splitSample(t, lines[0])
	assert.Equal(t, "otelcol_exporter_zabbix_values_rejected_total", name)
	assert.Positive(t, value)
	// Prometheus adds job and instance, by which the alert sums; the
	// exporter adds none that would split it.
	for _, l := range labels {
		assert.True(t, strings.HasPrefix(l, "otel_scope_"), "label %s", l)
	}

	expr := ruleExpr(t, rejectedAlert)
	read := regexp.MustCompile(`otelcol_exporter_zabbix_[a-z_]+`).FindAllString(expr, -1)
	require.NotEmpty(t, read, "%s reads no series of this exporter", rejectedAlert)
	for _, r := range read {
		assert.Equal(t, name, r, "%s reads a series the collector does not expose", rejectedAlert)
	}
	assert.Contains(t, expr, "by (job, instance)")
}

// scrapeLines are the samples of a metrics endpoint whose name starts
// with prefix.
func scrapeLines(t *testing.T, url, prefix string) []string {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // loopback
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

// splitSample splits `name{a="x",b="y"} 3` into its name, label names and
// value.
func splitSample(t *testing.T, line string) (name string, labels []string, value float64) {
	t.Helper()
	m := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	for _, l := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`).FindAllStringSubmatch(m[2], -1) {
		labels = append(labels, l[1])
	}
	value, err := strconv.ParseFloat(m[3], 64)
	require.NoError(t, err, line)
	return m[1], labels, value
}

// ruleExpr is the expression of an alert of the shipped rules file.
func ruleExpr(t *testing.T, alert string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "wafermonitor-rules.yaml"))
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, sigsyaml.Unmarshal(b, &file))
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr
			}
		}
	}
	t.Fatalf("no alert %s in the rules file", alert)
	return ""
}
