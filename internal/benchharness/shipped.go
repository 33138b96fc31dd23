package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	sigsyaml "sigs.k8s.io/yaml"
)

// shippedConfig is otelcol-config.yaml, which the default pipeline runs as
// it ships: only the environment variables it reads for its listening
// addresses and its data directory are set, so that it runs beside the
// other collectors of the run.
type shippedConfig struct {
	path string
	// name is how the report names the file.
	name string
	text string
	refs []envRef // in order of first appearance
}

// envRef is one ${env:NAME:-default} of the configuration.
type envRef struct {
	name, def string
}

var (
	envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)
	// An address to listen on: host:port or :port.
	listenAddrRE = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]*:[0-9]+$`)
)

func readShipped(path string) (*shippedConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the shipped configuration: %w", err)
	}
	s := &shippedConfig{path: path, name: filepath.Base(path), text: string(b)}
	seen := map[string]bool{}
	for _, m := range envRefRE.FindAllStringSubmatch(s.text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			s.refs = append(s.refs, envRef{name: m[1], def: m[2]})
		}
	}
	return s, nil
}

// movedEnv is what the harness sets to run the shipped configuration.
type movedEnv struct {
	vars                            map[string]string
	v1Port, otlpPort, telemetryPort int
}

// moveEnv gives every listening address of the configuration a free
// loopback port and its data directory dataDir. The v1 and OTLP/HTTP
// endpoints, the data directory and the collector's own metrics port must
// be among them: the run cannot measure the configuration otherwise.
func (s *shippedConfig) moveEnv(dataDir string, freePort func() (int, error)) (movedEnv, error) {
	moved := movedEnv{vars: map[string]string{}}
	for _, r := range s.refs {
		switch {
		case r.isDataDir():
			moved.vars[r.name] = dataDir
		case r.isAddress():
			port, err := freePort()
			if err != nil {
				return movedEnv{}, err
			}
			if strings.HasSuffix(r.name, "_PORT") {
				moved.vars[r.name] = strconv.Itoa(port)
			} else {
				moved.vars[r.name] = fmt.Sprintf("127.0.0.1:%d", port)
			}
			switch {
			case strings.HasSuffix(r.name, "_V1_ENDPOINT"):
				moved.v1Port = port
			case strings.HasSuffix(r.name, "_OTLP_HTTP_ENDPOINT"):
				moved.otlpPort = port
			case strings.HasSuffix(r.name, "_TELEMETRY_PORT"):
				moved.telemetryPort = port
			}
		}
	}
	var missing []string
	for what, ok := range map[string]bool{
		"a *_DATA_DIR variable":           containsSuffix(moved.vars, "_DATA_DIR"),
		"a *_V1_ENDPOINT variable":        moved.v1Port != 0,
		"a *_OTLP_HTTP_ENDPOINT variable": moved.otlpPort != 0,
		"a *_TELEMETRY_PORT variable":     moved.telemetryPort != 0,
	} {
		if !ok {
			missing = append(missing, what)
		}
	}
	if len(missing) > 0 {
		return movedEnv{}, fmt.Errorf("%s: the harness moves the shipped configuration's addresses and data directory through its environment variables, but it reads no %s",
			s.path, strings.Join(missing, ", no "))
	}
	return moved, nil
}

func (r envRef) isDataDir() bool { return strings.HasSuffix(r.name, "_DATA_DIR") }

// isAddress: the variable sets an address or port to listen on.
func (r envRef) isAddress() bool {
	return listenAddrRE.MatchString(r.def) || strings.HasSuffix(r.name, "_PORT") && isNumber(r.def)
}

// moved are the variables the harness sets.
func (s *shippedConfig) moved() []string {
	var out []string
	for _, r := range s.refs {
		if r.isDataDir() || r.isAddress() {
			out = append(out, r.name)
		}
	}
	sort.Strings(out)
	return out
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func containsSuffix(vars map[string]string, suffix string) bool {
	for k := range vars {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// resolved is the configuration with every ${env:...} replaced by the value
// in vars or its default, decoded.
func (s *shippedConfig) resolved(vars map[string]string) (map[string]any, error) {
	text := envRefRE.ReplaceAllStringFunc(s.text, func(ref string) string {
		m := envRefRE.FindStringSubmatch(ref)
		if v, ok := vars[m[1]]; ok {
			return v
		}
		return m[2]
	})
	var cfg map[string]any
	if err := sigsyaml.Unmarshal([]byte(text), &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return cfg, nil
}

// lookup follows keys through nested maps.
func lookup(cfg map[string]any, keys ...string) (any, bool) {
	var v any = cfg
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// memoryLimitMiB is memory_limiter's limit_mib, 0 when it has none.
func memoryLimitMiB(cfg map[string]any) float64 {
	v, ok := lookup(cfg, "processors", "memory_limiter", "limit_mib")
	if !ok {
		return 0
	}
	f, _ := v.(float64) // YAML numbers decode as float64 through JSON
	return f
}

// storageDirs are the directories of the file_storage extensions.
func storageDirs(cfg map[string]any) map[string]bool {
	dirs := map[string]bool{}
	exts, _ := lookup(cfg, "extensions")
	m, _ := exts.(map[string]any)
	for id, ext := range m {
		if id != "file_storage" && !strings.HasPrefix(id, "file_storage/") {
			continue
		}
		if dir, ok := lookup(map[string]any{"e": ext}, "e", "directory"); ok {
			dirs[filepath.Clean(fmt.Sprint(dir))] = true
		}
	}
	return dirs
}

// deferredWork is the longest period after which the configuration's
// components finish work they took: the batch processors' timeout, the
// sending queues' flush_timeout and the jobhierarchy processors'
// check_interval (their defaults when not set: 200ms, none, 1s).
func deferredWork(cfg map[string]any) time.Duration {
	longest := time.Duration(0)
	take := func(v any, ok bool, dflt time.Duration) {
		d := dflt
		if s, isString := v.(string); ok && isString {
			if parsed, err := time.ParseDuration(s); err == nil {
				d = parsed
			}
		}
		longest = max(longest, d)
	}
	procs, _ := lookup(cfg, "processors")
	pm, _ := procs.(map[string]any)
	for id, p := range pm {
		wrap := map[string]any{"p": p}
		switch kind, _, _ := strings.Cut(id, "/"); kind {
		case "batch":
			v, ok := lookup(wrap, "p", "timeout")
			take(v, ok, 200*time.Millisecond)
		case "jobhierarchy":
			v, ok := lookup(wrap, "p", "check_interval")
			take(v, ok, time.Second)
		}
	}
	exps, _ := lookup(cfg, "exporters")
	em, _ := exps.(map[string]any)
	for _, e := range em {
		if v, ok := lookup(map[string]any{"e": e}, "e", "sending_queue", "batch", "flush_timeout"); ok {
			take(v, ok, 0)
		}
	}
	return longest
}

// serviceExtensions is service::extensions.
func serviceExtensions(cfg map[string]any) []string {
	v, _ := lookup(cfg, "service", "extensions")
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// benchOverlay is the second configuration file the harness adds to the
// shipped one: the pprof extension on a loopback port, for the profiles of
// the run, and nothing else.
func benchOverlay(extensions []string, pprofPort int) string {
	return fmt.Sprintf("extensions:\n  pprof:\n    endpoint: 127.0.0.1:%d\nservice:\n  extensions: [%s]\n",
		pprofPort, strings.Join(append(append([]string(nil), extensions...), "pprof"), ", "))
}

// collectorEnv is the harness's environment without the variables the
// configuration reads and without the Go runtime's tuning variables, so that
// a developer's shell changes nothing in the measurement, plus vars.
func collectorEnv(refs []envRef, vars map[string]string) []string {
	drop := map[string]bool{"GOGC": true, "GOMEMLIMIT": true, "GODEBUG": true, "GOMAXPROCS": true}
	for _, r := range refs {
		drop[r.name] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}
