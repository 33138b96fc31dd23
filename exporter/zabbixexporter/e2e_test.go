package zabbixexporter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// zabbix is a private Zabbix 6.0 (server, database and API) that
// testdata/zabbix/start.sh runs on loopback for one test.
type zabbix struct {
	t       testing.TB
	dir     string
	trapper string
	api     string
	auth    string
}

// startZabbix needs the Debian packages that .ci/setup.d/50-zabbix.sh
// installs; without them the test fails and says so.
func startZabbix(t testing.TB, prepare ...func(testing.TB, string)) *zabbix {
	t.Helper()
	if missing := zabbixMissing(); missing != "" {
		t.Fatalf("Zabbix 6.0 is not installed (%s is missing): run .ci/setup.d/50-zabbix.sh as root, which installs zabbix-server-pgsql, zabbix-frontend-php, php8.2-cli, php8.2-cgi, php8.2-pgsql and postgresql", missing)
	}
	// A directory of our own rather than t.TempDir: zabbix_server's
	// runtime control socket path must stay short.
	dir, err := os.MkdirTemp("", "zbx")
	require.NoError(t, err)
	pg, trapper, api := testcollector.FreePort(t), trapperPort(t), testcollector.FreePort(t)
	z := &zabbix{t: t, dir: dir, trapper: fmt.Sprintf("127.0.0.1:%d", trapper), api: fmt.Sprintf("http://127.0.0.1:%d/api_jsonrpc.php", api)}
	t.Cleanup(func() {
		if os.Getenv("ZABBIX_E2E_KEEP") != "" && t.Failed() {
			t.Logf("ZABBIX_E2E_KEEP: Zabbix left running: API %s, trapper %s; stop it with testdata/zabbix/stop.sh %s", z.api, z.trapper, dir)
			return
		}
		z.script("stop.sh")
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "zabbix_server.log")); err == nil {
				t.Logf("zabbix_server.log (last 4 kB):\n%s", tail(b, 4096))
			}
		}
		_ = os.RemoveAll(dir)
	})
	for _, p := range prepare {
		p(t, dir)
	}
	start := time.Now()
	z.script("start.sh", strconv.Itoa(pg), strconv.Itoa(trapper), strconv.Itoa(api))
	t.Logf("Zabbix started in %s", time.Since(start).Round(time.Millisecond))
	var token string
	z.call("user.login", map[string]string{"username": "Admin", "password": "zabbix"}, &token)
	z.auth = token
	return z
}

// zabbixMissing names a file of the Zabbix packages that is not installed,
// or is empty.
func zabbixMissing() string {
	for _, p := range []string{"/usr/sbin/zabbix_server", "/usr/share/zabbix/api_jsonrpc.php", "/usr/share/zabbix-server-pgsql/schema.sql.gz", "/usr/bin/php"} {
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
	return ""
}

// trapperPort finds a free loopback port that Zabbix accepts as ListenPort
// (1024-32767, below the usual ephemeral range).
func trapperPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		port := 20000 + mathrand.IntN(12000) //nolint:gosec // not a secret
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-32000 for the Zabbix trapper")
	return 0
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (z *zabbix) script(name string, args ...string) {
	z.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("testdata", "zabbix", name), append([]string{z.dir}, args...)...) //nolint:gosec // test scripts
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The servers it starts must not keep the test waiting for its output.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		z.t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

// call runs one JSON-RPC method of the Zabbix API.
func (z *zabbix) call(method string, params, result any) {
	z.t.Helper()
	req := map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
	if z.auth != "" {
		req["auth"] = z.auth
	}
	body, err := json.Marshal(req)
	require.NoError(z.t, err)
	resp, err := http.Post(z.api, "application/json-rpc", bytes.NewReader(body)) //nolint:gosec,noctx // loopback test server
	require.NoError(z.t, err)
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	require.NoError(z.t, json.NewDecoder(resp.Body).Decode(&out))
	if out.Error != nil {
		z.t.Fatalf("%s: %s %s", method, out.Error.Message, out.Error.Data)
	}
	if result != nil {
		require.NoError(z.t, json.Unmarshal(out.Result, result))
	}
}

func (z *zabbix) importTemplate() {
	z.t.Helper()
	src, err := os.ReadFile(filepath.Join("template", "wafermonitor_zabbix6.yaml"))
	require.NoError(z.t, err)
	create := map[string]bool{"createMissing": true, "updateExisting": true}
	var ok bool
	z.call("configuration.import", map[string]any{
		"format": "yaml",
		"source": string(src),
		"rules": map[string]any{
			"groups":         map[string]bool{"createMissing": true},
			"templates":      create,
			"items":          create,
			"discoveryRules": create,
			"triggers":       create,
		},
	}, &ok)
	require.True(z.t, ok)
}

// createHost creates a host linked to every wafermonitor template.
func (z *zabbix) createHost(name string, macros map[string]string, extra ...map[string]any) string {
	z.t.Helper()
	var templates []struct {
		ID string `json:"templateid"`
	}
	z.call("template.get", map[string]any{"output": []string{"templateid"}, "search": map[string]string{"host": "wafermonitor"}}, &templates)
	require.Len(z.t, templates, 2)
	var groups []struct {
		ID string `json:"groupid"`
	}
	z.call("hostgroup.get", map[string]any{"output": []string{"groupid"}, "filter": map[string]any{"name": []string{"Linux servers"}}}, &groups)
	require.NotEmpty(z.t, groups)
	var links []map[string]string
	for _, tpl := range templates {
		links = append(links, map[string]string{"templateid": tpl.ID})
	}
	hostMacros := []map[string]string{}
	for k, v := range macros {
		hostMacros = append(hostMacros, map[string]string{"macro": k, "value": v})
	}
	var created struct {
		IDs []string `json:"hostids"`
	}
	params := map[string]any{"host": name, "groups": []map[string]string{{"groupid": groups[0].ID}}, "templates": links, "macros": hostMacros}
	for _, e := range extra {
		for k, v := range e {
			params[k] = v
		}
	}
	z.call("host.create", params, &created)
	return created.IDs[0]
}

func (z *zabbix) hostID(name string) string {
	z.t.Helper()
	var hosts []struct {
		ID string `json:"hostid"`
	}
	z.call("host.get", map[string]any{"output": []string{"hostid"}, "filter": map[string]any{"host": name}}, &hosts)
	require.Len(z.t, hosts, 1, name)
	return hosts[0].ID
}

type zbxItem struct {
	ID        string `json:"itemid"`
	Key       string `json:"key_"`
	ValueType string `json:"value_type"`
	State     string `json:"state"`
	Error     string `json:"error"`
	Flags     string `json:"flags"`
}

func (z *zabbix) item(hostID, key string) (zbxItem, bool) {
	var items []zbxItem
	z.call("item.get", map[string]any{"hostids": hostID, "output": []string{"itemid", "key_", "value_type", "state", "error", "flags"}, "filter": map[string]any{"key_": key}}, &items)
	if len(items) == 0 {
		return zbxItem{}, false
	}
	return items[0], true
}

type zbxValue struct {
	Clock string `json:"clock"`
	NS    string `json:"ns"`
	Value string `json:"value"`
}

func (z *zabbix) history(it zbxItem) []zbxValue {
	var values []zbxValue
	z.call("history.get", map[string]any{"itemids": it.ID, "history": it.ValueType, "output": "extend", "sortfield": "clock", "sortorder": "ASC"}, &values)
	return values
}

// firing reports whether the trigger named name (macros expanded) has an
// open problem.
func (z *zabbix) firing(hostID, name string) bool {
	var triggers []struct {
		Description string `json:"description"`
		Value       string `json:"value"`
	}
	z.call("trigger.get", map[string]any{"hostids": hostID, "output": []string{"description", "value"}, "expandDescription": true}, &triggers)
	for _, tr := range triggers {
		if tr.Description == name {
			return tr.Value == "1"
		}
	}
	return false
}

func (z *zabbix) problems(hostID string) []string {
	var problems []struct {
		Name string `json:"name"`
	}
	z.call("problem.get", map[string]any{"hostids": hostID, "output": []string{"name"}}, &problems)
	var names []string
	for _, p := range problems {
		names = append(names, p.Name)
	}
	return names
}

const e2eCollectorConfig = `
extensions:
  file_storage:
    directory: %[3]s
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
processors:
  jobhierarchy:
    check_interval: 100ms
    watchdog:
      stall_timeout: 2s
      max_duration: 1h
      rules:
        # One job runs past its deadline.
        - business_key: lot-late
          stall_timeout: 1h
          max_duration: 3s
        # Only the subjob that goes silent is to stall.
        - entity_type: job
          stall_timeout: 1h
        - business_key: lot-4712
          stall_timeout: 1h
    schedules:
      # Never runs: its missed events fire the template's missed trigger.
      - name: litho-nightly
        match: {service: litho-scheduler, business_key: lot-nightly, site: fab1}
        every: 5s
        grace: 1s
exporters:
  zabbix:
    endpoints: ["%[2]s"]
    compress: true
    timeout: 5s
    connect_timeout: 1s
    discovery:
      # Values follow their job type's announcement at once, so Zabbix
      # refuses them until discovery has created the items: they get in
      # only by being sent again, whatever the machine's load.
      item_delay: 0s
      max_refused_time: 2m
    legacy:
      enabled: true
      host: "{site}-{app}"
    sending_queue:
      storage: file_storage
    retry_on_failure:
      initial_interval: 200ms
      max_interval: 1s
      max_elapsed_time: 5m
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[4]d
  pipelines:
    logs:
      receivers: [wafermonitor]
      # No batch processor: the receiver answers once the events are in
      # the persistent queue.
      processors: [jobhierarchy]
      exporters: [zabbix]
`

// v1 builds one event of the v1 API as the Python client sends it.
func v1(typ, id, parent, bk, sk, kind, status string, at time.Time, metrics string) map[string]any {
	var parentID, subKey any
	if parent != "" {
		parentID = parent
	}
	if sk != "" {
		subKey = sk
	}
	var m map[string]any
	if metrics != "" {
		if err := json.Unmarshal([]byte(metrics), &m); err != nil {
			panic(err)
		}
	}
	return map[string]any{
		"site_id": "fab1",
		"app":     map[string]any{"name": "litho-scheduler", "version": "1.4.2"},
		"entity":  map[string]any{"type": typ, "id": id, "parent_id": parentID, "business_key": bk, "sub_key": subKey},
		"event":   map[string]any{"kind": kind, "at": at.UTC().Format(time.RFC3339Nano), "status": status, "metrics": m, "metadata": map[string]any{}},
	}
}

func postEvents(t *testing.T, port int, events ...map[string]any) {
	t.Helper()
	body, err := json.Marshal(events)
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", port), "application/json", bytes.NewReader(body)) //nolint:gosec,noctx // loopback
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// busyCPUs keeps n CPUs busy until the test ends, as other work on a
// loaded machine would: the test must not depend on how fast Zabbix
// creates items or the collector runs.
func busyCPUs(t testing.TB, n int) {
	t.Helper()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = devNull.Close() })
	for i := 0; i < n; i++ {
		cmd := exec.Command("yes") //nolint:gosec // a fixed command
		cmd.Stdout = devNull
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
}

func TestEndToEndRealZabbix(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against a real Zabbix server")
	}
	testStart := time.Now()
	z := startZabbix(t, writeTLS)
	z.importTemplate()
	// From here on the collector and Zabbix compete with two busy CPUs:
	// discovery then takes longer than item_delay, as on a loaded site.
	busyCPUs(t, 2)
	const hostName = "fab1-litho-scheduler"
	// "Not seen" after 30 s (the shortest nodata period) for the quiet job.
	hostID := z.createHost(hostName, map[string]string{`{$WAFER.NOT_SEEN:"lot-quiet"}`: "30s"})
	t.Cleanup(func() {
		if t.Failed() {
			var triggers []map[string]any
			z.call("trigger.get", map[string]any{"hostids": hostID, "output": []string{"description", "value", "state", "error", "expression"}, "expandExpression": true}, &triggers)
			t.Logf("triggers: %v", triggers)
			for _, key := range []string{"wafer.status", "wafer.outcome"} {
				if it, ok := z.item(hostID, key+`["litho-scheduler","lot-4711","subjob"]`); ok {
					t.Logf("%s: %+v history %v", key, it, z.history(it))
				}
			}
		}
	})
	// The server learns about the new host at its next configuration sync.
	time.Sleep(2 * time.Second)

	port := testcollector.FreePort(t)
	storage := t.TempDir()
	metricsPort := testcollector.FreePort(t)
	cfg := fmt.Sprintf(e2eCollectorConfig, port, z.trapper, storage, metricsPort)
	col := testcollector.Start(t, cfg, testcollector.Options{HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", port)})
	t.Logf("%s: collector running", time.Since(testStart).Round(time.Millisecond))

	const (
		job  = "a1b2c3d4-e5f6-4789-8abc-def012345678"
		w1   = "c3a9e1f0-0000-4000-8000-000000000001"
		w2   = "c3a9e1f0-0000-4000-8000-000000000002"
		jobQ = "a1b2c3d4-e5f6-4789-8abc-000000000009"
		jobL = "a1b2c3d4-e5f6-4789-8abc-000000000010"
	)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	failedAt := base.Add(30*time.Second + 250*time.Millisecond)
	postEvents(t, port,
		v1("job", jobQ, "", "lot-quiet", "", "started", "running", base, ""),
		v1("job", jobL, "", "lot-late", "", "started", "running", time.Now(), ""),
		v1("job", job, "", "lot-4711", "", "started", "running", base, ""),
		v1("subjob", w1, job, "lot-4711", "wafer-01", "started", "running", base.Add(time.Second), ""),
		v1("subjob", w2, job, "lot-4711", "wafer-02", "started", "running", base.Add(time.Second), ""),
		v1("subjob", w1, job, "lot-4711", "wafer-01", "finished", "failed", failedAt,
			`{"duration_s":29.25,"cpu_user_s":12.5,"cpu_system_s":1.75,"mem_max_mb":512}`),
	)
	// wafer-02 says nothing more: the jobhierarchy processor reports it stalled.

	sub := `["litho-scheduler","lot-4711","subjob"]`
	var outcome zbxItem
	testcollector.WaitFor(t, 60*time.Second, "the discovered outcome item and its value", func() bool {
		it, ok := z.item(hostID, "wafer.outcome"+sub)
		if !ok {
			return false
		}
		outcome = it
		return len(z.history(it)) > 0
	})
	t.Logf("%s: discovered items have values", time.Since(testStart).Round(time.Millisecond))
	assert.Equal(t, "4", outcome.Flags, "a discovered item")
	assert.Equal(t, "0", outcome.State, "item supported: %s", outcome.Error)
	h := z.history(outcome)
	require.Len(t, h, 1)
	assert.Equal(t, "failure", h[0].Value)
	assert.Equal(t, strconv.FormatInt(failedAt.Unix(), 10), h[0].Clock, "the event's time")
	failedNS, err := strconv.Atoi(h[0].NS)
	require.NoError(t, err)
	assert.Equal(t, 250, failedNS/int(time.Millisecond), "the event's milliseconds")

	for key, want := range map[string]string{
		"wafer.duration" + sub:   "29.25",
		"wafer.cpu.user" + sub:   "12.5",
		"wafer.cpu.system" + sub: "1.75",
		"wafer.memory.max" + sub: "512",
		"wafer.failures" + sub:   "1",
	} {
		it, ok := z.item(hostID, key)
		require.True(t, ok, key)
		assert.Equal(t, "0", it.State, "%s: %s", key, it.Error)
		hv := z.history(it)
		require.NotEmpty(t, hv, key)
		got, err := strconv.ParseFloat(hv[len(hv)-1].Value, 64)
		require.NoError(t, err)
		wantF, _ := strconv.ParseFloat(want, 64)
		assert.InDelta(t, wantF, got, 1e-9, key)
	}
	// The roll-up item's prototype was imported and discovered.
	_, rollupOK := z.item(hostID, "wafer.rollup.complete"+sub)
	assert.True(t, rollupOK, "the wafer.rollup.complete item")
	// The old sidecar's key on the same host.
	legacy, ok := z.item(hostID, "wafer.subjob.finished")
	require.True(t, ok)
	lh := z.history(legacy)
	require.Len(t, lh, 1)
	assert.Equal(t, "29.25", lh[0].Value)

	testcollector.WaitFor(t, 60*time.Second, "the failure, stall, timeout and missed triggers", func() bool {
		return z.firing(hostID, "litho-scheduler lot-4711 (subjob) failed") &&
			z.firing(hostID, "litho-scheduler lot-4711 (subjob) stalled") &&
			z.firing(hostID, "litho-scheduler lot-late (job) timed out") &&
			z.firing(hostID, "litho-scheduler lot-nightly (job) missed a scheduled run")
	})
	missedRuns, ok := z.item(hostID, `wafer.missed["litho-scheduler","lot-nightly","job"]`)
	require.True(t, ok, "the discovered missed runs item")
	assert.NotEmpty(t, z.history(missedRuns))
	legacyMissed, ok := z.item(hostID, "wafer.job.missed")
	require.True(t, ok, "the old sidecar's key of the missed kind")
	assert.Equal(t, "0", legacyMissed.State, "supported: %s", legacyMissed.Error)
	stalls, ok := z.item(hostID, "wafer.stalls"+sub)
	require.True(t, ok)
	assert.NotEmpty(t, z.history(stalls))
	problems := z.problems(hostID)
	assert.Contains(t, problems, "litho-scheduler lot-4711 (subjob) failed")
	assert.Contains(t, problems, "litho-scheduler lot-4711 (subjob) stalled")
	assert.Contains(t, problems, "litho-scheduler lot-late (job) timed out")
	assert.Contains(t, problems, "litho-scheduler lot-nightly (job) missed a scheduled run")
	assert.NotContains(t, problems, "litho-scheduler lot-4711 (job) failed", "the job itself has not ended")
	t.Logf("%s: failure, stall, timeout and missed triggers fired", time.Since(testStart).Round(time.Millisecond))

	// The server goes away while values are being sent, the collector is
	// killed and started again, the server comes back.
	z.script("stop.sh", "server")
	const n = 30
	outageBase := time.Now().Add(-30 * time.Second).Truncate(time.Second)
	job2 := "b1b2c3d4-e5f6-4789-8abc-def012345678"
	var events []map[string]any
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("d3a9e1f0-0000-4000-8000-%012d", i)
		at := outageBase.Add(time.Duration(i) * 100 * time.Millisecond)
		events = append(events, v1("subjob", id, job2, "lot-4712", fmt.Sprintf("wafer-%02d", i), "finished", "succeeded", at,
			fmt.Sprintf(`{"duration_s":%d}`, 1000+i)))
	}
	postEvents(t, port, events[:n/2]...)
	testcollector.WaitFor(t, 30*time.Second, "the exporter to retry", func() bool {
		return strings.Contains(col.Output(), "Will retry")
	})
	postEvents(t, port, events[n/2:]...)
	// The collector dies too; what it accepted is in its persistent queue.
	col.Kill()
	col = testcollector.Start(t, cfg, testcollector.Options{HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", port), Dir: col.Dir})
	z.script("start.sh", "server")

	sub2 := `["litho-scheduler","lot-4712","subjob"]`
	testcollector.WaitFor(t, 90*time.Second, "every value sent during the outage", func() bool {
		it, ok := z.item(hostID, "wafer.duration"+sub2)
		return ok && len(z.history(it)) == n
	})
	t.Logf("%s: every value sent during the outage arrived", time.Since(testStart).Round(time.Millisecond))
	// They got in by being sent again after Zabbix refused them; none was
	// given up.
	failed, rejected := collectorCounter(t, metricsPort, "otelcol_exporter_zabbix_values_failed"), collectorCounter(t, metricsPort, "otelcol_exporter_zabbix_values_rejected")
	t.Logf("values refused by Zabbix and sent again: %d; given up: %d", failed, rejected)
	assert.Positive(t, failed, "values refused while discovery created the items")
	assert.Zero(t, rejected)
	it, _ := z.item(hostID, "wafer.duration"+sub2)
	byValue := map[string]zbxValue{}
	for _, v := range z.history(it) {
		byValue[v.Value] = v
	}
	for i := 0; i < n; i++ {
		v, ok := byValue[strconv.Itoa(1000+i)]
		if !assert.True(t, ok, "duration %d", 1000+i) {
			continue
		}
		at := outageBase.Add(time.Duration(i) * 100 * time.Millisecond)
		assert.Equal(t, strconv.FormatInt(at.Unix(), 10), v.Clock)
		if at.Nanosecond() != 0 {
			ns, err := strconv.Atoi(v.NS)
			require.NoError(t, err)
			assert.Equal(t, at.Nanosecond()/int(time.Millisecond), ns/int(time.Millisecond), "the event's milliseconds")
		}
	}

	testSameSecondAcrossRequests(t, z, hostID, port, job2, "lot-4712")
	t.Logf("%s: values of subjobs ending in the same second, sent apart, arrived", time.Since(testStart).Round(time.Millisecond))

	testTLS(t, z)
	t.Logf("%s: values over TLS with certificates arrived", time.Since(testStart).Round(time.Millisecond))

	// The quiet job type has had no event for over 30 s by now.
	testcollector.WaitFor(t, 90*time.Second, "the not-seen trigger", func() bool {
		return z.firing(hostID, "litho-scheduler lot-quiet (job) not seen for 30s")
	})
	t.Logf("end-to-end test took %s", time.Since(testStart).Round(time.Millisecond))
}

// collectorCounter sums a counter of the collector's own metrics (0 when
// it was never recorded).
func collectorCounter(t *testing.T, port int, name string) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)) //nolint:gosec,noctx // loopback
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	total := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		require.NoError(t, err, line)
		total += v
	}
	return int(total)
}

// writeTLS makes a CA, the server's certificate (127.0.0.1) and the
// collector's, in dir/tls, where start.sh finds them.
func writeTLS(t testing.TB, dir string) {
	t.Helper()
	tlsDir := filepath.Join(dir, "tls")
	require.NoError(t, os.MkdirAll(tlsDir, 0o755))
	// RSA: Zabbix built with GnuTLS (Debian's) offers only RSA key exchange.
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wafermonitor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	writePEM(t, filepath.Join(tlsDir, "ca.pem"), "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		writePEM(t, filepath.Join(tlsDir, name+".pem"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(tlsDir, name+"-key.pem"), "PRIVATE KEY", keyDER)
	}
	issue("server", 2, x509.ExtKeyUsageServerAuth)
	issue("collector", 3, x509.ExtKeyUsageClientAuth)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	// The server runs as root here, but keep the key readable for a
	// zabbix account too.
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644)) //nolint:gosec // test key
}

// testTLS sends through the exporter with TLS and certificates to a host
// that accepts certificate connections only, and checks that a plain
// connection is refused for it.
func testTLS(t *testing.T, z *zabbix) {
	hostID := z.createHost("fab1-tls", nil, map[string]any{"tls_accept": 4, "tls_connect": 1})
	time.Sleep(2 * time.Second) // the server's next configuration sync

	tlsDir := filepath.Join(z.dir, "tls")
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{z.trapper}
	cfg.Host = "{site}-tls"
	cfg.Discovery.ItemDelay = 3 * time.Second
	cfg.Legacy.Enabled = true
	cfg.Legacy.Host = "{site}-tls"
	cfg.TLS = configtls.ClientConfig{Config: configtls.Config{
		CAFile: filepath.Join(tlsDir, "ca.pem"), CertFile: filepath.Join(tlsDir, "collector.pem"), KeyFile: filepath.Join(tlsDir, "collector-key.pem"),
	}}
	cfg.RetryConfig.InitialInterval = 200 * time.Millisecond
	cfg.RetryConfig.MaxInterval = time.Second
	require.NoError(t, cfg.Validate())
	// Through the exporter helper's queue and retry, as in the collector.
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(ctx)) }()

	at := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	ev := event{site: "fab1", app: "etch", etype: "job", id: "e1b2c3d4-e5f6-4789-8abc-def012345678", key: "lot-9", kind: "finished", status: "succeeded", at: at,
		metrics: map[string]float64{"duration_s": 7.5}}
	require.NoError(t, exp.ConsumeLogs(ctx, logsOf(ev)))
	testcollector.WaitFor(t, 30*time.Second, "values over TLS", func() bool {
		it, ok := z.item(hostID, `wafer.duration["etch","lot-9","job"]`)
		return ok && len(z.history(it)) == 1
	})
	legacy, ok := z.item(hostID, "wafer.job.finished")
	require.True(t, ok)
	require.Len(t, z.history(legacy), 1)

	// Without TLS, the host's values are refused.
	plain, err := zabbixsender.New(zabbixsender.Config{Endpoints: []string{z.trapper}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	res, err := plain.Send(ctx, []zabbixsender.Value{{Host: "fab1-tls", Key: "wafer.job.started", Value: "1", Clock: at.Unix()}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Failed, "a plain connection for a certificate-only host")
}
