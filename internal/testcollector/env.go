package testcollector

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// listenerVar is a listener of otelcol-config.yaml read from an environment
// variable with a default: WAFERMONITOR_X_ENDPOINT (host:port) or
// WAFERMONITOR_X_PORT (with WAFERMONITOR_X_HOST).
var listenerVar = regexp.MustCompile(`\$\{env:(WAFERMONITOR_[A-Z0-9_]+_(?:ENDPOINT|PORT)):-[^}]*\}`)

// DefaultConfig returns the repository's otelcol-config.yaml, as shipped.
func DefaultConfig(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "otelcol-config.yaml")) //nolint:gosec // the repository's own file
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// DefaultConfigEnv is the environment that runs otelcol-config.yaml on this
// machine: every listener it reads from a WAFERMONITOR_ variable on a free
// loopback port, its data directory in dataDir. It returns the variables
// and the ports by variable name (e.g. WAFERMONITOR_V1_ENDPOINT).
func DefaultConfigEnv(t testing.TB, config, dataDir string) ([]string, map[string]int) {
	t.Helper()
	env := []string{"WAFERMONITOR_DATA_DIR=" + dataDir}
	ports := map[string]int{}
	for _, m := range listenerVar.FindAllStringSubmatch(config, -1) {
		name := m[1]
		if _, done := ports[name]; done {
			continue
		}
		ports[name] = FreePort(t)
		if prefix, ok := strings.CutSuffix(name, "_PORT"); ok {
			env = append(env, fmt.Sprintf("%s=%d", name, ports[name]), prefix+"_HOST=127.0.0.1")
			continue
		}
		env = append(env, fmt.Sprintf("%s=127.0.0.1:%d", name, ports[name]))
	}
	for _, name := range []string{"WAFERMONITOR_V1_ENDPOINT", "WAFERMONITOR_HEALTH_ENDPOINT"} {
		if ports[name] == 0 {
			t.Fatalf("otelcol-config.yaml does not read its listener from %s", name)
		}
	}
	return env, ports
}
