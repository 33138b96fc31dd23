package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/freeport"
)

// The default pipeline runs otelcol-config.yaml as shipped: the harness sets
// only the variables of its listening addresses (each a distinct loopback
// port) and of its data directory, and reads its memory limit, storage
// directory and periodic flushes from it.
func TestShippedConfigurationIsMovedOnlyThroughItsVariables(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	s, err := readShipped(filepath.Join(root, "otelcol-config.yaml"))
	require.NoError(t, err)
	dataDir := t.TempDir()
	next := 40000
	moved, err := s.moveEnv(dataDir, func() (int, error) { next++; return next, nil })
	require.NoError(t, err)

	ports := map[string]string{}
	for _, r := range s.refs {
		v, set := moved.vars[r.name]
		switch {
		case strings.HasSuffix(r.name, "_DATA_DIR"):
			require.Equal(t, dataDir, v, r.name)
			require.Contains(t, s.moved(), r.name)
		case listenAddrRE.MatchString(r.def):
			require.True(t, strings.HasPrefix(v, "127.0.0.1:"), "%s=%q, want a loopback address", r.name, v)
			require.NotContains(t, ports, v, "%s reuses the port of %s", r.name, ports[v])
			ports[v] = r.name
			require.Contains(t, s.moved(), r.name)
		case strings.HasSuffix(r.name, "_PORT"):
			require.True(t, set && isNumber(v), "%s=%q", r.name, v)
		default:
			require.False(t, set, "%s is set to %q: only addresses and the data directory may be moved", r.name, v)
		}
	}
	require.NotZero(t, moved.v1Port)
	require.NotZero(t, moved.otlpPort)
	require.NotZero(t, moved.telemetryPort)
	require.Contains(t, ports, "127.0.0.1:"+strconv.Itoa(moved.v1Port))

	cfg, err := s.resolved(moved.vars)
	require.NoError(t, err)
	require.Equal(t, 512.0, memoryLimitMiB(cfg))
	require.Equal(t, map[string]bool{filepath.Join(dataDir, "queue"): true}, storageDirs(cfg))
	require.Equal(t, time.Second, deferredWork(cfg))
	exts := serviceExtensions(cfg)
	require.Contains(t, exts, "file_storage")
	require.Equal(t, "extensions:\n  pprof:\n    endpoint: 127.0.0.1:1777\nservice:\n  extensions: ["+strings.Join(exts, ", ")+", pprof]\n",
		benchOverlay(exts, 1777))
}

func TestMovingAConfigurationThatHidesAnAddressFails(t *testing.T) {
	for _, tc := range []struct {
		name, config, missing string
	}{
		{"no v1 endpoint variable", "receivers:\n  wafermonitor:\n    endpoint: localhost:17000\n  otlp:\n    protocols:\n      http:\n        endpoint: ${env:X_OTLP_HTTP_ENDPOINT:-localhost:4318}\n" +
			"extensions:\n  file_storage:\n    directory: ${env:X_DATA_DIR:-./data}\nservice:\n  telemetry:\n    metrics:\n      port: ${env:X_TELEMETRY_PORT:-8888}\n", "*_V1_ENDPOINT"},
		{"no data directory variable", "a: ${env:X_V1_ENDPOINT:-localhost:1} ${env:X_OTLP_HTTP_ENDPOINT:-:2} ${env:X_TELEMETRY_PORT:-3}\n", "*_DATA_DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shippedConfig{path: "test.yaml", text: tc.config}
			for _, m := range envRefRE.FindAllStringSubmatch(tc.config, -1) {
				s.refs = append(s.refs, envRef{name: m[1], def: m[2]})
			}
			_, err := s.moveEnv(t.TempDir(), freeport.Get)
			require.ErrorContains(t, err, tc.missing)
		})
	}
}

// A developer's shell changes nothing in the measurement: the variables the
// configuration reads and the Go runtime's tuning are not passed on.
func TestCollectorEnvironmentDropsTheShellsSettings(t *testing.T) {
	t.Setenv("WAFERMONITOR_MEMORY_LIMIT_MIB", "64")
	t.Setenv("GOGC", "off")
	t.Setenv("GOMEMLIMIT", "1GiB")
	env := collectorEnv([]envRef{{name: "WAFERMONITOR_MEMORY_LIMIT_MIB"}, {name: "WAFERMONITOR_DATA_DIR"}}, map[string]string{"WAFERMONITOR_DATA_DIR": "/d"})
	joined := "\n" + strings.Join(env, "\n") + "\n"
	require.NotContains(t, joined, "\nWAFERMONITOR_MEMORY_LIMIT_MIB=")
	require.NotContains(t, joined, "\nGOGC=")
	require.NotContains(t, joined, "\nGOMEMLIMIT=")
	require.Contains(t, joined, "\nWAFERMONITOR_DATA_DIR=/d\n")
}
