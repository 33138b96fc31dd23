package integrationsprovider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/localapitest"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// defaultConfig is the shipped otelcol-config.yaml.
var defaultConfig = filepath.Join("..", "..", "..", "otelcol-config.yaml")

// exampleEnv is what the example lists' placeholders need.
var exampleEnv = []string{"AWS_REGION=eu-west-1", "ELASTIC_PASSWORD=p", "ELASTIC_API_KEY=k", "ALERTS_TOKEN=t", "ZABBIX_AUTH_TOKEN=z"}

// TestExamplesValidate: every example list runs on top of the default
// configuration as it is: `otelcol-wafermonitor validate` accepts the
// merged configuration, and print-config shows the default outputs (csv,
// prometheus) kept and each integration added.
func TestExamplesValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	bin := testcollector.Binary(t)
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			list := "integrations:" + filepath.Join("testdata", name+".json")
			out, err := run(bin, "validate", "--config", defaultConfig, "--config", list)
			require.NoError(t, err, out)

			printed := printConfig(t, bin, defaultConfig, list)
			golden := readGolden(t, name)
			pipelines := printed["service"].(map[string]any)["pipelines"].(map[string]any)
			exporters := func(p string) []any { return pipelines[p].(map[string]any)["exporters"].([]any) }
			assert.Contains(t, exporters("logs"), "csv")
			assert.Contains(t, exporters("traces"), "csv")
			assert.Equal(t, []any{"prometheus"}, exporters("metrics"))
			add := golden["integrations"].(map[string]any)["add_to_pipelines"].(map[string]any)
			for id, signals := range add {
				for _, s := range signals.([]any) {
					assert.Contains(t, exporters(s.(string)), id, "%s in the %s pipeline", id, s)
				}
			}
			assert.NotContains(t, printed, "integrations")
		})
	}
}

// TestPrintedConfigRunsAlone: the YAML that print-config shows is a
// configuration of its own, which a site can keep and edit.
func TestPrintedConfigRunsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	bin := testcollector.Binary(t)
	printed := printConfig(t, bin, defaultConfig, "integrations:testdata/production.json")
	b, err := yaml.Marshal(printed)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	out, err := run(bin, "validate", "--config", path)
	require.NoError(t, err, out)
}

// TestBadListsStopTheCollector: a list the provider cannot translate stops
// the collector with the error naming the entry and key, and strict mode
// refuses what the default mode skips with a warning.
func TestBadListsStopTheCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	bin := testcollector.Binary(t)
	bad := writeList(t, `[{"type":"zabbix","name":"z","config":{"host":"h"}}]`)
	out, err := run(bin, "validate", "--config", defaultConfig, "--config", "integrations:"+bad)
	require.Error(t, err)
	assert.Contains(t, out, `entry 1 ("z", type zabbix): config.zabbix_server: missing`)

	unknown := writeList(t, `[{"type":"splunk","name":"s"},{"type":"csv","name":"c","config":{"output_dir":"/tmp/x"}}]`)
	out, err = run(bin, "validate", "--config", defaultConfig, "--config", "integrations:"+unknown)
	require.NoError(t, err, out)
	out, err = run(bin, "validate", "--config", defaultConfig, "--config", "integrations:strict:"+unknown)
	require.Error(t, err)
	assert.Contains(t, out, `unknown type "splunk"`)
}

// TestIntegrationsDeliverEndToEnd runs the default configuration with an
// integrations list of every type that delivers on loopback: the old Local
// API (a stand-in that answers as it does), a webhook, CSV and JSON files,
// and a real Zabbix server. Events sent to the v1 API reach every one of
// them and the default outputs alike.
func TestIntegrationsDeliverEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary and a real Zabbix server")
	}
	const zabbixHost = "wafer-monitor-fab1"
	z := zabbixtest.Start(t)
	z.ImportTemplates()
	hostID := z.CreateHost(zabbixHost)
	z.WaitAccepts(zabbixHost, "wafer.job.recovered", 60*time.Second)

	api := localapitest.Start(t)
	hook := newHookRecorder(t)
	dir := t.TempDir()
	list := writeList(t, fmt.Sprintf(`[
		{"type": "local_api", "name": "primary", "enabled": true, "config": {"base_url": "${LOCAL_API_URL}", "timeout": 5.0}},
		{"type": "webhook", "name": "compliance", "enabled": true,
		 "config": {"webhook_url": "%[1]s/api/events", "method": "POST", "headers": {"Authorization": "Bearer ${COMPLIANCE_API_TOKEN}"}, "timeout": 10.0}},
		{"type": "csv", "name": "backup", "enabled": true, "config": {"output_dir": "%[2]s/csv", "rotation": "daily", "include_headers": true}},
		{"type": "json", "name": "archive", "enabled": true, "config": {"output_dir": "%[2]s/json", "rotation": "hourly", "compression": "gzip", "pretty_print": false}},
		{"type": "zabbix", "name": "zabbix-fab1", "enabled": true, "config": {"zabbix_server": "http://%[3]s", "host": "%[4]s"}},
		{"type": "webhook", "name": "old-compliance", "enabled": false, "config": {}}
	]`, hook.URL, dir, z.Trapper, zabbixHost))

	env, ports := testcollector.DefaultConfigEnv(t, testcollector.DefaultConfig(t), filepath.Join(dir, "data"))
	env = append(env, "LOCAL_API_URL="+api.URL, "COMPLIANCE_API_TOKEN=tok")
	v1Port := ports["WAFERMONITOR_V1_ENDPOINT"]
	// What a site would add for a Zabbix server that loads its
	// configuration every second (the harness's): items of new job types
	// are ready after 3 s, not the default 75.
	override := `
exporters:
  zabbix/zabbix-fab1:
    discovery:
      item_delay: 3s
`
	receiver := "http://127.0.0.1:" + strconv.Itoa(v1Port)
	base, err := filepath.Abs(defaultConfig)
	require.NoError(t, err)
	col := testcollector.Start(t, override, testcollector.Options{
		ConfigFiles: []string{base},
		Args:        []string{"--config", "integrations:" + list},
		Env:         env,
		HealthURL:   receiver + "/v1/health",
	})

	now := time.Now().UTC()
	events := e2eEvents(now)
	body, err := json.Marshal(events)
	require.NoError(t, err)
	resp, err := http.Post(receiver+"/v1/ingest/batch", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
	n := len(events)

	// The events of the last five minutes may fall on both sides of an hour
	// or a day: every file of the pattern counts.
	testcollector.WaitFor(t, 60*time.Second, "every event in the Local API, the webhook, the files and the default CSV", func() bool {
		return len(api.Events()) == n && hook.count() == n &&
			csvRows(filepath.Join(dir, "csv", "wafer_events_*.csv")) == n &&
			jsonLines(filepath.Join(dir, "json", "wafer_events_*.jsonl")) == n &&
			csvRows(filepath.Join(dir, "data", "wafer_events_*.csv")) == n
	})
	for key, raw := range api.Events() {
		var ev v1event.Event
		require.NoError(t, json.Unmarshal(raw, &ev))
		require.NotNil(t, ev.Entity.BusinessKey, key)
	}
	assert.Empty(t, api.Refusals())
	for _, h := range hook.headers() {
		assert.Equal(t, "Bearer tok", h.Get("Authorization"))
	}
	testcollector.WaitFor(t, 60*time.Second, "the finished job, subjob and C job in the entities file", func() bool {
		return csvRows(filepath.Join(dir, "csv", "wafer_entities_*.csv")) == 3
	})

	// The old sidecar's item keys on the fixed host.
	// The C client's job ends in wafer.job.finished too.
	for key, want := range map[string][]string{"wafer.job.finished": {"12.5", "299.5"}, "wafer.subjob.finished": {"93.2"}, "wafer.job.started": {"1"}} {
		var got []string
		testcollector.WaitFor(t, 90*time.Second, "the values of "+key, func() bool {
			it, ok := z.Item(hostID, key)
			if !ok {
				return false
			}
			got = got[:0]
			for _, v := range z.History(it) {
				got = append(got, v.Value)
			}
			return len(got) >= len(want)
		})
		assert.ElementsMatch(t, want, got, key)
	}
	// What the provider said about the list, in the collector's log.
	assert.Contains(t, col.Output(), "Integration disabled (enabled: false): skipped")
	assert.Contains(t, col.Output(), `"component": "zabbix/zabbix-fab1"`)
}

// e2eEvents is a job with one subjob as the Python client reports it, and a
// job of the flat C client, which sends no business key.
func e2eEvents(now time.Time) []map[string]any {
	at := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05.000000+00:00") }
	const job, sub = "a1b2c3d4-0000-4000-8000-0000000000e2", "c3a9e1f0-0000-4000-8000-0000000000e2"
	ev := func(key, typ, id, parent, kind, status, when string, metrics map[string]any) map[string]any {
		e := map[string]any{
			"idempotency_key": key, "site_id": "fab1",
			"app":    map[string]any{"name": "litho-scheduler", "version": "1.4.2"},
			"entity": map[string]any{"type": typ, "id": id, "business_key": "lot-e2e", "sub_key": nil, "parent_id": nil},
			"event":  map[string]any{"kind": kind, "at": when, "status": status, "metrics": metrics, "metadata": map[string]any{}},
		}
		if parent != "" {
			e["entity"].(map[string]any)["parent_id"] = parent
			e["entity"].(map[string]any)["sub_key"] = "wafer-01"
		}
		return e
	}
	return []map[string]any{
		ev("e2e-1", "job", job, "", "started", "running", at(-300*time.Second), map[string]any{}),
		ev("e2e-2", "subjob", sub, job, "started", "running", at(-200*time.Second), map[string]any{}),
		ev("e2e-3", "subjob", sub, job, "finished", "succeeded", at(-100*time.Second), map[string]any{"duration_s": 93.2}),
		ev("e2e-4", "job", job, "", "finished", "succeeded", at(-time.Second), map[string]any{"duration_s": 299.5}),
		{"idempotency_key": "e2e-5", "site_id": "fab1", "app_name": "metrology-c", "entity_type": 0,
			"entity_id": "aaaaaaaa-0000-4000-8000-0000000000e2", "event_kind": 3, "timestamp": float64(now.Unix()),
			"status": "success", "metrics": map[string]any{"duration_seconds": 12.5}},
	}
}

// hookRecorder is a webhook endpoint that counts v1 events by key.
type hookRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	keys map[string]bool
	hdrs []http.Header
}

func newHookRecorder(t *testing.T) *hookRecorder {
	h := &hookRecorder{keys: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev v1event.Event
		if r.URL.Path != "/api/events" || json.NewDecoder(r.Body).Decode(&ev) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.keys[ev.IdempotencyKey] = true
		h.hdrs = append(h.hdrs, r.Header.Clone())
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.keys)
}

func (h *hookRecorder) headers() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.hdrs...)
}

// csvRows counts the rows after the header of the CSV files that match
// pattern.
func csvRows(pattern string) int {
	return lines(pattern, 1)
}

// jsonLines counts the lines of the JSON Lines files that match pattern.
func jsonLines(pattern string) int { return lines(pattern, 0) }

// lines counts the lines of the files that match pattern, but the first
// skip of each.
func lines(pattern string, skip int) int {
	files, _ := filepath.Glob(pattern)
	n := 0
	for _, path := range files {
		b, err := os.ReadFile(path) //nolint:gosec // the test's own files
		if err != nil {
			continue
		}
		count := 0
		for s := bufio.NewScanner(bytes.NewReader(b)); s.Scan(); {
			if strings.TrimSpace(s.Text()) != "" {
				count++
			}
		}
		n += max(count-skip, 0)
	}
	return n
}

func run(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), exampleEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// printConfig is what `print-config` shows of the merged configuration.
func printConfig(t *testing.T, bin string, configs ...string) map[string]any {
	t.Helper()
	args := []string{"print-config", "--feature-gates=otelcol.printInitialConfig", "--mode", "unredacted"}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), exampleEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	var printed map[string]any
	require.NoError(t, yaml.Unmarshal(stdout.Bytes(), &printed), stdout.String())
	return printed
}

func readGolden(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(b, &m))
	return m
}
