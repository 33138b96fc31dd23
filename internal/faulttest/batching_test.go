package faulttest

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestKillWithBatching compares where batching happens when the collector is
// killed under load, the backend down until the restart. After the
// sending_queue's file (sending_queue::batch) nothing accepted is lost. In
// the `batch` processor, in front of the queue, the events it holds were
// answered 200 and are lost: here its timeout outlasts the run, so it holds
// every accepted event and the test expects every one of them lost, not
// one written to the queue's file. (With a timeout of 1 s, what it holds is
// up to the last second's events.)
func TestKillWithBatching(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	const killAfter = 3000 // accepted events
	for _, variant := range []string{"batch processor", "sending_queue batch"} {
		t.Run(strings.ReplaceAll(variant, " ", "_"), func(t *testing.T) {
			sink := newWebhookSink(t) // down until the restart
			port := testcollector.FreePort(t)
			recv := "http://127.0.0.1:" + strconv.Itoa(port)
			dir := t.TempDir()
			cfg := webhookConfig(port, filepath.Join(dir, "queue"), sink.url())
			restart := cfg
			if variant == "batch processor" {
				cfg = strings.Replace(cfg, "processors:\n  memory_limiter:", "processors:\n  batch:\n    timeout: 1h\n    send_batch_size: 1000000\n  memory_limiter:", 1)
				cfg = strings.Replace(cfg, "processors: [memory_limiter]", "processors: [memory_limiter, batch]", 1)
				// Restarted without it and with one queue consumer: a marker
				// sent then arrives after everything the queue's file held.
				restart = strings.Replace(restart, "num_consumers: 2", "num_consumers: 1", 1)
			} else {
				cfg = strings.Replace(cfg, "      sizer: items\n", "      sizer: items\n      batch:\n        flush_timeout: 1s\n        min_size: 500\n        max_size: 1000\n", 1)
				restart = cfg
			}
			col := testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})
			c := newClient(recv, "batching")
			stop := make(chan struct{})
			wg := c.steady(20, 10*time.Millisecond, stop)
			testcollector.WaitFor(t, 60*time.Second, fmt.Sprintf("%d accepted events", killAfter), func() bool {
				return len(c.acceptedKeys()) >= killAfter
			})
			col.Kill()
			close(stop)
			wg.Wait()
			testcollector.Start(t, restart, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})
			sink.up()
			if variant == "sending_queue batch" {
				waitDelivered(t, c, sink)
				f, lost := c.tally(sink.deliveries())
				report(t, f, lost, "(SIGKILL with sending_queue::batch after the queue's file)")
				return
			}

			accepted := c.acceptedKeys()
			marker := newClient(recv, "marker")
			if code := marker.post(marker.makeEvents(1)); code != 200 {
				t.Fatalf("marker after the restart: %d", code)
			}
			waitDelivered(t, marker, sink)
			f, _ := c.tally(sink.deliveries())
			t.Logf("figures: %s (SIGKILL with the batch processor before the queue)", f)
			fmt.Printf("FAULTTEST %s: %s (SIGKILL; the batch processor held every accepted event: all %d expected lost)\n", t.Name(), f, len(accepted))
			if len(accepted) < killAfter {
				t.Errorf("%d events accepted before the kill, want at least %d", len(accepted), killAfter)
			}
			if f.Lost != len(accepted) {
				t.Errorf("%d of %d accepted events lost; the batch processor held them all (timeout 1h), so all of them should be: "+
					"%d were in the queue's file", f.Lost, len(accepted), len(accepted)-f.Lost)
			}
		})
	}
}
