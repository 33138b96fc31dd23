package faulttest

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestHealthCheckExtensionSeesExporterFailures: with the health_check
// extension on component statuses (feature gate
// extension.healthcheck.useComponentStatus) and recoverable errors
// included, its endpoint answers 500 (its code for "unhealthy") while the
// webhook backend is down for longer than recovery_duration, and 200 again
// after it returns, like the v1 health path.
func TestHealthCheckExtensionSeesExporterFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t)
	sink.up()
	port, hport := testcollector.FreePort(t), testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	cfg := webhookConfig(port, filepath.Join(dir, "queue"), sink.url())
	cfg = strings.Replace(cfg, "extensions:\n", fmt.Sprintf(`extensions:
  health_check:
    http:
      endpoint: 127.0.0.1:%d
      status:
        enabled: true
        path: /status
    component_health:
      include_recoverable_errors: true
      recovery_duration: 1s
`, hport), 1)
	cfg = strings.Replace(cfg, "extensions: [pipeline_health, file_storage]", "extensions: [health_check, pipeline_health, file_storage]", 1)
	hurl := fmt.Sprintf("http://127.0.0.1:%d/status", hport)
	testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health",
		Args: []string{"--feature-gates=+extension.healthcheck.useComponentStatus"}})
	status := func() (int, string) {
		resp, err := http.Get(hurl) //nolint:gosec // loopback
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	c := newClient(recv, "hc")
	testcollector.WaitFor(t, 20*time.Second, "health_check 200", func() bool {
		c.post(c.makeEvents(1))
		code, _ := status()
		return code == 200
	})
	downAt := time.Now()
	sink.down()
	testcollector.WaitFor(t, 20*time.Second, "health_check 500 (unhealthy) during the outage", func() bool {
		c.post(c.makeEvents(1))
		code, _ := status()
		return code == http.StatusInternalServerError
	})
	unhealthyAfter := time.Since(downAt)
	code, body := status()
	t.Logf("unhealthy %s after the backend went down: %d %s", unhealthyAfter.Round(time.Millisecond), code, body)
	// A recoverable error turns into "unhealthy" only once it lasted
	// recovery_duration: never sooner.
	if unhealthyAfter < time.Second {
		t.Errorf("unhealthy %s after the backend went down, sooner than recovery_duration (1s)", unhealthyAfter)
	}
	start := time.Now()
	sink.up()
	testcollector.WaitFor(t, 30*time.Second, "health_check 200 after recovery", func() bool {
		c.post(c.makeEvents(1))
		code, _ := status()
		return code == 200
	})
	healthyAfter := time.Since(start)
	waitDelivered(t, c, sink)
	deliveredAfter := time.Since(start)
	// The bounds of the waits above: 20 s to unhealthy, 30 s to healthy, 45 s more to delivered.
	fmt.Printf("FAULTTEST %s: unhealthy %s after the backend went down (at least recovery_duration 1s, at most 20s); "+
		"healthy %s after it returned (at most 30s); everything delivered %s after it returned (at most 75s)\n",
		t.Name(), unhealthyAfter.Round(time.Millisecond), healthyAfter.Round(time.Millisecond), deliveredAfter.Round(time.Millisecond))
}

// TestV1HealthAnswersForItsOwnPipelines: two v1 receivers, each feeding its
// own pipeline and webhook exporter. While one backend is down, the health
// answer of the receiver that feeds it is degraded with that exporter and
// counts its queue; the other receiver's stays ok with an empty spool.
func TestV1HealthAnswersForItsOwnPipelines(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	up, down := newWebhookSink(t), newWebhookSink(t)
	up.up()
	portA, portB := testcollector.FreePort(t), testcollector.FreePort(t)
	recvA, recvB := "http://127.0.0.1:"+strconv.Itoa(portA), "http://127.0.0.1:"+strconv.Itoa(portB)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
extensions:
  pipeline_health:
  file_storage:
    directory: %[1]s
    create_directory: true
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[2]d
  wafermonitor/other:
    endpoint: 127.0.0.1:%[3]d
exporters:
  webhook/up:
    endpoint: %[4]s
    format: v1
    mode: batch
    sending_queue: {storage: file_storage, sizer: items}
    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s}
  webhook/down:
    endpoint: %[5]s
    format: v1
    mode: batch
    timeout: 2s
    sending_queue: {storage: file_storage, sizer: items}
    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0s}
service:
  extensions: [pipeline_health, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [webhook/up]
    logs/other:
      receivers: [wafermonitor/other]
      exporters: [webhook/down]
`, filepath.Join(dir, "queue"), portA, portB, up.url(), down.url())
	testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recvA + "/v1/health"})
	a, b := newClient(recvA, "a"), newClient(recvB, "b")
	testcollector.WaitFor(t, 30*time.Second, "the other receiver's health degraded by its exporter", func() bool {
		if a.post(a.makeEvents(10)) != http.StatusOK || b.post(b.makeEvents(10)) != http.StatusOK {
			t.Fatal("an event refused")
		}
		return healthDetails(t, recvB).Status == "degraded"
	})
	hb := healthDetails(t, recvB)
	if len(hb.FailingExporters) != 1 || hb.FailingExporters[0].Exporter != "webhook/down (logs/other)" || hb.SpoolCount == 0 {
		t.Errorf("health of the receiver whose backend is down: %+v, want webhook/down (logs/other) failing and items queued", hb)
	}
	waitDelivered(t, a, up)
	// The queue counts an item as gone once the exporter helper records it
	// done, just after the backend has it: wait for that, but never accept a
	// failing exporter or another status on the way.
	var ha healthDetail
	testcollector.WaitFor(t, 10*time.Second, "the receiver whose backend is up: ok with an empty spool", func() bool {
		ha = healthDetails(t, recvA)
		if ha.Status != "ok" || len(ha.FailingExporters) > 0 {
			t.Fatalf("health of the receiver whose backend is up: %+v, want ok", ha)
		}
		return ha.SpoolCount == 0
	})
	down.up()
	waitDelivered(t, b, down)
	testcollector.WaitFor(t, 30*time.Second, "the other receiver's health ok once its backlog is delivered", func() bool {
		h := healthDetails(t, recvB)
		return h.Status == "ok" && h.SpoolCount == 0
	})
	fmt.Printf("FAULTTEST %s: backend of wafermonitor/other down: its health %s with %d items queued and %v failing; wafermonitor's %s with %d queued; ok once delivered\n",
		t.Name(), hb.Status, hb.SpoolCount, hb.FailingExporters, ha.Status, ha.SpoolCount)
}
