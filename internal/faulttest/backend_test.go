package faulttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// webhookConfig is a collector that takes v1 events and sends them to a
// webhook through a sending queue persisted by file_storage, with no
// in-memory stage between the receiver and the queue: a 200 means the
// events are in the queue's file.
func webhookConfig(port int, queueDir, hook string) string {
	return fmt.Sprintf(`
extensions:
  pipeline_health:
  file_storage:
    directory: %[2]s
    create_directory: true
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
    retry_after: 1s
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 400
    spike_limit_mib: 100
exporters:
  webhook:
    endpoint: %[3]s
    format: v1
    mode: batch
    max_batch_events: 100
    timeout: 2s
    sending_queue:
      storage: file_storage
      num_consumers: 2
      queue_size: 100000
      sizer: items
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0s
service:
  extensions: [pipeline_health, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [memory_limiter]
      exporters: [webhook]
`, port, queueDir, hook)
}

// TestBackendDown: the webhook backend is down for a while under steady
// load, then returns; every accepted event arrives.
func TestBackendDown(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t)
	sink.up()
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	testcollector.Start(t, webhookConfig(port, filepath.Join(dir, "queue"), sink.url()),
		testcollector.Options{HealthURL: recv + "/v1/health"})

	c := newClient(recv, "down")
	stop := make(chan struct{})
	wg := c.steady(20, 20*time.Millisecond, stop)
	testcollector.WaitFor(t, 30*time.Second, "500 events delivered before the outage", func() bool {
		return len(sink.deliveries()) >= 500
	})
	if h := health(t, recv); h.Status != "ok" {
		t.Errorf("health before the outage: %+v, want ok", h)
	}
	sink.down()
	// The health path tells the truth while the exporter keeps failing.
	testcollector.WaitFor(t, 10*time.Second, "health degraded during the outage", func() bool {
		h := health(t, recv)
		return h.Status == "degraded" && len(h.FailingExporters) == 1 && h.FailingExporters[0].Exporter == "webhook (logs)"
	})
	// Late in the outage: 2,000 more events accepted into the queue, none
	// delivered, the exporter still failing.
	queuedFrom := len(c.acceptedKeys())
	testcollector.WaitFor(t, 60*time.Second, "2,000 more events accepted during the outage", func() bool {
		return len(c.acceptedKeys()) >= queuedFrom+2000
	})
	if h := health(t, recv); h.Status != "degraded" {
		t.Errorf("health late in the outage: %+v, want degraded", h)
	}
	duringOutage := len(sink.deliveries())
	sink.up()
	// Load goes on after the backend returned: 500 more events accepted.
	resumedFrom := len(c.acceptedKeys())
	testcollector.WaitFor(t, 30*time.Second, "500 more events accepted after the backend returned", func() bool {
		return len(c.acceptedKeys()) >= resumedFrom+500
	})
	close(stop)
	wg.Wait()

	waitDelivered(t, c, sink)
	testcollector.WaitFor(t, 10*time.Second, "health ok after recovery", func() bool { return health(t, recv).Status == "ok" })
	f, lost := c.tally(sink.deliveries())
	report(t, f, lost, fmt.Sprintf("(backend down while %d events were queued; delivered before it returned=%d; answers=%v)",
		len(c.acceptedKeys())-queuedFrom, duringOutage, c.statuses))
}

// TestKillDuringOutage: the collector is killed with SIGKILL under load
// while the backend is down and restarted on the same queue directory;
// every accepted event arrives once the backend returns (duplicates
// allowed and counted).
func TestKillDuringOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t) // down
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	cfg := webhookConfig(port, filepath.Join(dir, "queue"), sink.url())
	col := testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})

	c := newClient(recv, "kill")
	stop := make(chan struct{})
	wg := c.steady(20, 10*time.Millisecond, stop)
	testcollector.WaitFor(t, 60*time.Second, "5,000 events accepted", func() bool { return len(c.acceptedKeys()) >= 5000 })
	// Killed while requests are in flight.
	col.Kill()
	acceptedBeforeKill := len(c.acceptedKeys())
	// The clients notice before the restart: requests without an answer.
	testcollector.WaitFor(t, 10*time.Second, "a request refused by the killed collector", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.transportEr > 0
	})
	col = testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})
	testcollector.WaitFor(t, 30*time.Second, "1,000 events accepted after the restart", func() bool {
		return len(c.acceptedKeys()) >= acceptedBeforeKill+1000
	})
	close(stop)
	wg.Wait()
	sink.up()

	waitDelivered(t, c, sink)
	if col.Exited() {
		t.Error("the restarted collector exited")
	}
	f, lost := c.tally(sink.deliveries())
	report(t, f, lost, fmt.Sprintf("(SIGKILL after %d accepted, backend down until restart; answers=%v, unanswered requests=%d)",
		acceptedBeforeKill, c.statuses, c.transportEr))
}

type healthAnswer struct {
	Status           string `json:"status"`
	FailingExporters []struct {
		Exporter string `json:"exporter"`
		Error    string `json:"error"`
	} `json:"failing_exporters"`
}

// health reads the v1 health path.
func health(t *testing.T, recv string) healthAnswer {
	t.Helper()
	var h healthAnswer
	if code, err := getJSON(recv+"/v1/health", &h); err != nil || code != 200 {
		t.Fatalf("health: %d %v", code, err)
	}
	return h
}

// waitDelivered waits until every event the client saw accepted is at the backend.
func waitDelivered(t *testing.T, c *client, sink *webhookSink) {
	t.Helper()
	accepted := c.acceptedKeys()
	testcollector.WaitFor(t, 45*time.Second, "every accepted event at the backend", func() bool {
		d := sink.deliveries()
		for k := range accepted {
			if d[k] == 0 {
				return false
			}
		}
		return true
	})
}

// queueFiles lists the file_storage files under dir (for failure messages).
func queueFiles(dir string) string {
	var names []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, fmt.Sprintf("%s (%d bytes)", p, info.Size()))
		}
		return nil
	})
	return strings.Join(names, ", ")
}
