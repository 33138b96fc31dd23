package zabbixexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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
	"github.com/wafermonitor/wafermonitor/internal/zabbixtest"
)

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
      # The harness's server loads its configuration every second: the
      # triggers that discovery creates after the items are loaded at most
      # a sync after them.
      trigger_delay: 5s
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
	z := zabbixtest.Start(t, zabbixtest.WithTLS)
	z.ImportTemplates()
	// From here on the collector and Zabbix compete with two busy CPUs:
	// discovery then takes longer than item_delay, as on a loaded site.
	busyCPUs(t, 2)
	const hostName = "fab1-litho-scheduler"
	// "Not seen" after 30 s (the shortest nodata period) for the quiet job.
	hostID := z.CreateHost(hostName, zabbixtest.Macros(map[string]string{`{$WAFER.NOT_SEEN:"lot-quiet"}`: "30s"}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("triggers: %+v", z.Triggers(hostID))
			for _, key := range []string{"wafer.status", "wafer.outcome"} {
				if it, ok := z.Item(hostID, key+`["litho-scheduler","lot-4711","subjob"]`); ok {
					t.Logf("%s: %+v history %v", key, it, z.History(it))
				}
			}
		}
	})
	// The server takes values for the new host from its next
	// configuration sync on.
	z.WaitAccepts(hostName, "wafer.job.recovered", time.Minute)
	testTriggerAfterValue(t, z)
	t.Logf("%s: a trigger loaded after its value ignores it, and the value sent again", time.Since(testStart).Round(time.Millisecond))
	testNewJobTypesAlert(t, z)
	t.Logf("%s: the failed triggers of 50 new job types on 10 hosts fired", time.Since(testStart).Round(time.Millisecond))

	port := testcollector.FreePort(t)
	storage := t.TempDir()
	metricsPort := testcollector.FreePort(t)
	cfg := fmt.Sprintf(e2eCollectorConfig, port, z.Trapper, storage, metricsPort)
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
	var outcome zabbixtest.Item
	testcollector.WaitFor(t, 60*time.Second, "the discovered outcome item and its value", func() bool {
		it, ok := z.Item(hostID, "wafer.outcome"+sub)
		if !ok {
			return false
		}
		outcome = it
		return len(z.History(it)) > 0
	})
	t.Logf("%s: discovered items have values", time.Since(testStart).Round(time.Millisecond))
	assert.Equal(t, "4", outcome.Flags, "a discovered item")
	assert.Equal(t, "0", outcome.State, "item supported: %s", outcome.Error)
	h := z.History(outcome)
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
		it, ok := z.Item(hostID, key)
		require.True(t, ok, key)
		assert.Equal(t, "0", it.State, "%s: %s", key, it.Error)
		hv := z.History(it)
		require.NotEmpty(t, hv, key)
		got, err := strconv.ParseFloat(hv[len(hv)-1].Value, 64)
		require.NoError(t, err)
		wantF, _ := strconv.ParseFloat(want, 64)
		assert.InDelta(t, wantF, got, 1e-9, key)
	}
	// The roll-up item's prototype was imported and discovered.
	_, rollupOK := z.Item(hostID, "wafer.rollup.complete"+sub)
	assert.True(t, rollupOK, "the wafer.rollup.complete item")
	// The old sidecar's key on the same host.
	legacy, ok := z.Item(hostID, "wafer.subjob.finished")
	require.True(t, ok)
	lh := z.History(legacy)
	require.Len(t, lh, 1)
	assert.Equal(t, "29.25", lh[0].Value)

	testcollector.WaitFor(t, 60*time.Second, "the failure, stall, timeout and missed triggers", func() bool {
		return z.Firing(hostID, "litho-scheduler lot-4711 (subjob) failed") &&
			z.Firing(hostID, "litho-scheduler lot-4711 (subjob) stalled") &&
			z.Firing(hostID, "litho-scheduler lot-late (job) timed out") &&
			z.Firing(hostID, "litho-scheduler lot-nightly (job) missed a scheduled run")
	})
	missedRuns, ok := z.Item(hostID, `wafer.missed["litho-scheduler","lot-nightly","job"]`)
	require.True(t, ok, "the discovered missed runs item")
	assert.NotEmpty(t, z.History(missedRuns))
	legacyMissed, ok := z.Item(hostID, "wafer.job.missed")
	require.True(t, ok, "the old sidecar's key of the missed kind")
	assert.Equal(t, "0", legacyMissed.State, "supported: %s", legacyMissed.Error)
	stalls, ok := z.Item(hostID, "wafer.stalls"+sub)
	require.True(t, ok)
	assert.NotEmpty(t, z.History(stalls))
	problems := z.Problems(hostID)
	assert.Contains(t, problems, "litho-scheduler lot-4711 (subjob) failed")
	assert.Contains(t, problems, "litho-scheduler lot-4711 (subjob) stalled")
	assert.Contains(t, problems, "litho-scheduler lot-late (job) timed out")
	assert.Contains(t, problems, "litho-scheduler lot-nightly (job) missed a scheduled run")
	assert.NotContains(t, problems, "litho-scheduler lot-4711 (job) failed", "the job itself has not ended")
	t.Logf("%s: failure, stall, timeout and missed triggers fired", time.Since(testStart).Round(time.Millisecond))

	// The server goes away while values are being sent, the collector is
	// killed and started again, the server comes back.
	z.Script("stop.sh", "server")
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
	z.Script("start.sh", "server")

	sub2 := `["litho-scheduler","lot-4712","subjob"]`
	defer func() {
		if t.Failed() {
			logOutageState(t, z, hostID, metricsPort, sub2)
		}
	}()
	testcollector.WaitFor(t, 90*time.Second, "every value sent during the outage", func() bool {
		it, ok := z.Item(hostID, "wafer.duration"+sub2)
		return ok && len(z.History(it)) == n
	})
	t.Logf("%s: every value sent during the outage arrived", time.Since(testStart).Round(time.Millisecond))
	// They got in by being sent again after Zabbix refused them; none was
	// given up.
	failed, rejected := collectorCounter(t, metricsPort, "otelcol_exporter_zabbix_values_failed"), collectorCounter(t, metricsPort, "otelcol_exporter_zabbix_values_rejected")
	t.Logf("values refused by Zabbix and sent again: %d; given up: %d", failed, rejected)
	assert.Positive(t, failed, "values refused while discovery created the items")
	assert.Zero(t, rejected)
	it, _ := z.Item(hostID, "wafer.duration"+sub2)
	byValue := map[string]zabbixtest.Value{}
	for _, v := range z.History(it) {
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
		return z.Firing(hostID, "litho-scheduler lot-quiet (job) not seen for 30s")
	})
	t.Logf("end-to-end test took %s", time.Since(testStart).Round(time.Millisecond))
}

// logOutageState logs what Zabbix and the collector say about the job type
// whose values were sent during the outage.
func logOutageState(t *testing.T, z *zabbixtest.Server, hostID string, metricsPort int, args string) {
	for _, key := range []string{"wafer.duration", "wafer.status", "wafer.outcome", "wafer.events"} {
		if it, ok := z.Item(hostID, key+args); ok {
			t.Logf("%s%s: %+v, %d values", key, args, it, len(z.History(it)))
		} else {
			t.Logf("%s%s: no such item", key, args)
		}
	}
	var rules []map[string]any
	z.Call("discoveryrule.get", map[string]any{"hostids": hostID, "output": []string{"key_", "state", "error", "lastclock"}}, &rules)
	t.Logf("discovery rules: %v", rules)
	for _, name := range []string{"otelcol_exporter_zabbix_values_processed", "otelcol_exporter_zabbix_values_failed", "otelcol_exporter_zabbix_values_rejected", "otelcol_exporter_zabbix_discovery_sent", "otelcol_exporter_zabbix_values_deferred"} {
		t.Logf("%s: %d", name, collectorCounter(t, metricsPort, name))
	}
	var lld []string
	for _, line := range strings.Split(z.Log(), "\n") {
		if strings.Contains(strings.ToLower(line), "lld") || strings.Contains(line, "discovery") {
			lld = append(lld, line)
		}
	}
	t.Logf("server log, discovery lines: %v", lld[max(0, len(lld)-20):])
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

// testTLS sends through the exporter with TLS and certificates to a host
// that accepts certificate connections only, and checks that a plain
// connection is refused for it.
func testTLS(t *testing.T, z *zabbixtest.Server) {
	const host = "fab1-tls"
	hostID := z.CreateHost(host, map[string]any{"tls_accept": 4, "tls_connect": 1})
	z.WaitAcceptsTLS(host, "wafer.job.recovered", z.ClientTLSConfig(), time.Minute)

	files := z.ClientTLS()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{z.Trapper}
	cfg.Host = "{site}-tls"
	// The harness's server loads its configuration every second.
	cfg.Discovery.ItemDelay = 3 * time.Second
	cfg.Discovery.TriggerDelay = 2 * time.Second
	cfg.Legacy.Enabled = true
	cfg.Legacy.Host = "{site}-tls"
	cfg.TLS = configtls.ClientConfig{Config: configtls.Config{
		CAFile: files.CA, CertFile: files.Cert, KeyFile: files.Key,
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
		it, ok := z.Item(hostID, `wafer.duration["etch","lot-9","job"]`)
		legacy, legacyOK := z.Item(hostID, "wafer.job.finished")
		return ok && len(z.History(it)) == 1 && legacyOK && len(z.History(legacy)) == 1
	})

	// Without TLS, the host's values are refused.
	plain, err := zabbixsender.New(zabbixsender.Config{Endpoints: []string{z.Trapper}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	res, err := plain.Send(ctx, []zabbixsender.Value{{Host: host, Key: "wafer.job.started", Value: "1", Clock: at.Unix()}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Failed, "a plain connection for a certificate-only host")
}
