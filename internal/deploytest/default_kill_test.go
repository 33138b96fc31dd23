package deploytest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestDefaultConfigSurvivesKill runs otelcol-config.yaml, the configuration
// `make run` runs, as a real collector: the file as it is, with its
// listeners on free loopback ports and its data directory in a temporary
// directory through its environment variables. Two clients post whole jobs
// to /v1/events/batch and two post every event alone to /v1/event, each
// event with its own idempotency key; after 5000 accepted events the
// collector is killed with SIGKILL and started again on the same data
// directory. Every event answered 2xx must be in the CSV event files, every
// entity whose finished event was answered 2xx in the entity files, and
// every row must be a whole row of something sent (see killRun). The figures
// are logged (FIGURES lines).
func TestDefaultConfigSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector under load")
	}
	dc := newDefaultConfig(t)
	killRun{
		start:         dc.start,
		v1Port:        dc.ports["WAFERMONITOR_V1_ENDPOINT"],
		csvDir:        dc.dataDir,
		batchClients:  2,
		singleClients: 2,
		killAfter:     5000,
		wait:          30 * time.Second,
	}.run(t)
}

// defaultConfig is otelcol-config.yaml, the file as it is, run as a real
// collector with its listeners on free loopback ports and its data
// directory in a temporary directory, through its environment variables.
type defaultConfig struct {
	// ports by environment variable name
	ports   map[string]int
	dataDir string
	// start runs the collector (again, on the same data directory) and
	// waits until it is healthy.
	start func() *testcollector.Collector
}

func newDefaultConfig(t *testing.T) defaultConfig {
	t.Helper()
	config := testcollector.DefaultConfig(t)
	checkListenersFromEnv(t, config)
	dataDir, runDir := t.TempDir(), t.TempDir()
	env, ports := localEnv(t, config)
	env = append(env, "WAFERMONITOR_DATA_DIR="+dataDir)
	health := fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"])
	return defaultConfig{ports: ports, dataDir: dataDir, start: func() *testcollector.Collector {
		return testcollector.Start(t, config, testcollector.Options{Dir: runDir, Env: env, HealthURL: health})
	}}
}

// localEnv sets every listener of otelcol-config.yaml to a free loopback
// port through its environment variable (WAFERMONITOR_X_ENDPOINT,
// WAFERMONITOR_X_PORT with WAFERMONITOR_X_HOST) and returns the variables and
// the ports by variable name. Other WAFERMONITOR_ variables already set in
// the environment would change the defaults under test: they are logged.
func localEnv(t *testing.T, config string) ([]string, map[string]int) {
	t.Helper()
	var env []string
	ports := map[string]int{}
	for name := range configPorts(t, config) {
		ports[name] = testcollector.FreePort(t)
		if prefix, ok := strings.CutSuffix(name, "_PORT"); ok {
			env = append(env, fmt.Sprintf("%s=%d", name, ports[name]), prefix+"_HOST=127.0.0.1")
			continue
		}
		env = append(env, fmt.Sprintf("%s=127.0.0.1:%d", name, ports[name]))
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "WAFERMONITOR_") {
			t.Logf("%s is set in the environment: the configuration runs with it, not with its default", name)
		}
	}
	slices.Sort(env)
	return env, ports
}

// checkListenersFromEnv fails when otelcol-config.yaml has a listener
// (an endpoint, or the collector's own metrics port) whose address is not
// taken from an environment variable: localEnv could not move it to a free
// port.
func checkListenersFromEnv(t *testing.T, config string) {
	t.Helper()
	var cfg map[string]any
	if err := sigsyaml.Unmarshal([]byte(config), &cfg); err != nil {
		t.Fatalf("otelcol-config.yaml: %v", err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := path + "::" + k
				if k == "endpoint" || (k == "port" && strings.HasPrefix(path, "service::telemetry")) {
					if s, ok := e.(string); !ok || !strings.HasPrefix(s, "${env:") {
						t.Errorf("otelcol-config.yaml: %s is %v, not an ${env:WAFERMONITOR_…} variable: the test cannot move it to a free port", p[2:], e)
					}
					continue
				}
				walk(p, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s::%d", path, i), e)
			}
		}
	}
	walk("", cfg)
	if t.Failed() {
		t.FailNow()
	}
}
