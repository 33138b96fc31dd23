package faulttest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// mountTmpfs mounts a tmpfs of the given size at dir and unmounts it at the
// end of the test. It skips the test when mounting is not allowed (not root).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs for the queue needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

func resizeTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", dir, err, out)
	}
}

// TestDiskFull: the queue's disk fills up while the backend is down. The
// receiver answers 503 with Retry-After (never 400 or 500), the collector
// keeps running, and once space returns and the backend is back every
// accepted event arrives.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t) // down
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	queue := filepath.Join(dir, "queue")
	if err := os.MkdirAll(queue, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, queue, "2m")
	col := testcollector.Start(t, webhookConfig(port, queue, sink.url()), testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health"})

	c := newClient(recv, "disk")
	stop := make(chan struct{})
	wg := c.steady(50, 10*time.Millisecond, stop)
	testcollector.WaitFor(t, 60*time.Second, "a 503 once the disk is full", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.statuses[http.StatusServiceUnavailable] >= 20
	})
	acceptedWhenFull := len(c.acceptedKeys())
	if col.Exited() {
		t.Fatal("the collector exited when the disk filled up")
	}
	resizeTmpfs(t, queue, "256m")
	sink.up()
	// Space is back: the load is taken again, 500 more events.
	testcollector.WaitFor(t, 30*time.Second, "500 more events accepted once space returned", func() bool {
		return len(c.acceptedKeys()) >= acceptedWhenFull+500
	})
	close(stop)
	wg.Wait()
	waitDelivered(t, c, sink)
	if col.Exited() {
		t.Error("the collector exited")
	}
	c.mu.Lock()
	bad := c.statuses[http.StatusBadRequest] + c.statuses[http.StatusInternalServerError]
	noHdr := c.noRetryHdr
	c.mu.Unlock()
	if bad > 0 {
		t.Errorf("%d answers were 400 or 500; a full disk must answer 503", bad)
	}
	if noHdr > 0 {
		t.Errorf("%d answers 503 came without Retry-After", noHdr)
	}
	f, lost := c.tally(sink.deliveries())
	report(t, f, lost, fmt.Sprintf("(queue on a 2 MiB tmpfs, full after %d accepted; answers=%v; queue files: %s)",
		acceptedWhenFull, c.statuses, queueFiles(queue)))
}
