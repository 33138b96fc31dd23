package faulttest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// rssKiB reads a VmRSS-like field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func rssKiB(pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// The process runs as in a container with a 256 MiB memory limit, with
// memory_limiter's limit_mib (a bound of the Go heap, not of the resident
// set) and GOMEMLIMIT at 160 MiB, the usual ~60 % of the container's limit
// that leaves room for the runtime, stacks and the binary's pages.
const (
	processLimitMiB  = 256
	overloadLimitMiB = 160
)

// TestOverload: many concurrent clients send large batches far beyond what
// the collector can take. Requests wait for room among the bytes in flight
// and for a decoder (admission) instead of being refused at once; those
// whose wait runs out, or that memory_limiter refuses, get 503 with
// Retry-After. The process stays under its memory limit, nothing crashes,
// and a normal client is served again afterwards; every accepted event
// arrives.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	sink := newWebhookSink(t)
	sink.up()
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	cfg := strings.Replace(webhookConfig(port, filepath.Join(dir, "queue"), sink.url()),
		"limit_mib: 400\n    spike_limit_mib: 100", fmt.Sprintf("limit_mib: %d\n    spike_limit_mib: 40", overloadLimitMiB), 1)
	col := testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health",
		// The Go runtime is told the same limit, so it collects before the
		// limiter has to refuse.
		Env: []string{fmt.Sprintf("GOMEMLIMIT=%dMiB", overloadLimitMiB)}})
	idleMiB := float64(rssKiB(col.PID(), "VmRSS")) / 1024

	// The resident anonymous memory is what the process allocated; the
	// resident file pages (the binary's text, the queue file bbolt maps) are
	// page cache the kernel reclaims before it kills anything.
	var peak, peakRSS atomic.Int64
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for {
			if kib := int64(rssKiB(col.PID(), "RssAnon")); kib > peak.Load() {
				peak.Store(kib)
			}
			if kib := int64(rssKiB(col.PID(), "VmRSS")); kib > peakRSS.Load() {
				peakRSS.Store(kib)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	const clients, batch = 32, 2000
	c := newClient(recv, "over")
	stop := make(chan struct{})
	var wgs []*sync.WaitGroup
	for range clients {
		wgs = append(wgs, c.steady(batch, time.Millisecond, stop))
	}
	time.Sleep(10 * time.Second)
	close(stop)
	for _, wg := range wgs {
		wg.Wait()
	}
	overloadAnswers := fmt.Sprint(c.statuses)
	waits, refusedBy := admissionCounts(t, recv)

	// Recovery: one normal client, small batches, each retried until
	// accepted (after 200 ms instead of the 1 s Retry-After, to measure
	// finely) while the queue drains what the overload left.
	after := newClient(recv, "after")
	start := time.Now()
	for range 50 {
		events := after.makeEvents(20)
		for after.post(events) != http.StatusOK && time.Since(start) < 60*time.Second {
			time.Sleep(200 * time.Millisecond)
		}
	}
	recoverSecs := time.Since(start).Seconds()
	close(stopSampling)
	sampler.Wait()
	waitDelivered(t, c, sink)
	waitDelivered(t, after, sink)

	if col.Exited() {
		t.Fatal("the collector exited under overload")
	}
	peakMiB := float64(peak.Load()) / 1024
	peakRSSMiB := float64(peakRSS.Load()) / 1024
	c.mu.Lock()
	noHdr, bad := c.noRetryHdr, c.statuses[http.StatusInternalServerError]+c.statuses[http.StatusBadRequest]
	c.mu.Unlock()
	if waits == 0 {
		t.Error("no request waited: the load did not exceed what the receiver serves at once")
	}
	if noHdr > 0 {
		t.Errorf("%d answers 503 without Retry-After", noHdr)
	}
	if bad > 0 {
		t.Errorf("%d answers 400 or 500 under overload", bad)
	}
	if after.statuses[http.StatusOK] != 50 {
		t.Errorf("after the overload a normal client got %v within 60 s, want 50 × 200", after.statuses)
	}
	if peakMiB > processLimitMiB {
		t.Errorf("peak resident anonymous memory %.0f MiB above the process's %d MiB limit", peakMiB, processLimitMiB)
	}
	f, lost := c.tally(sink.deliveries())
	fa, lostAfter := after.tally(sink.deliveries())
	f.Sent += fa.Sent
	f.Accepted += fa.Accepted
	f.Delivered += fa.Delivered
	f.Duplicates += fa.Duplicates
	f.Lost += fa.Lost
	report(t, f, append(lost, lostAfter...), fmt.Sprintf("(%d clients × %d-event batches for 10s; answers=%s; requests that waited %d, events refused by reason %v; RSS idle %.0f MiB, peak %.0f MiB (anonymous %.0f MiB), process limit %d MiB, limit_mib %d; memory_limiter refused data %d times; recovery: 50 requests of 20 events accepted in %.2fs, answers=%v)",
		clients, batch, overloadAnswers, waits, refusedBy, idleMiB, peakRSSMiB, peakMiB, processLimitMiB, overloadLimitMiB, strings.Count(col.Output(), "Refusing data"), recoverSecs, after.statuses))
}

// admissionCounts reads from the receiver's GET /metrics how many requests
// waited (for bytes, a decoder or another copy of their events) and how
// many events were refused, by reason (busy: a wait ran out; pipeline:
// memory_limiter or a full queue).
func admissionCounts(t *testing.T, recv string) (waits int, refused map[string]int) {
	t.Helper()
	resp, err := http.Get(recv + "/metrics") //nolint:gosec // loopback test URL
	if err != nil {
		t.Fatalf("receiver metrics: %v", err)
	}
	defer resp.Body.Close()
	refused = map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		n, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		switch {
		case strings.HasPrefix(line, "wafermonitor_receiver_admission_waits_total{"):
			waits += int(n)
		case strings.HasPrefix(line, `wafermonitor_receiver_events_rejected_total{reason="`):
			reason, _, _ := strings.Cut(strings.TrimPrefix(line, `wafermonitor_receiver_events_rejected_total{reason="`), `"`)
			refused[reason] += int(n)
		}
	}
	return waits, refused
}
