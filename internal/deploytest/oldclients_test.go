package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// oldSDKTimeout, oldSDKTries: the old Python monitoring SDK's sender gives
// up on a request after 5 s and tries it 3 times at most, and only after a
// timeout or a connection error; any HTTP status ends it (an error status
// loses the event).
const (
	oldSDKTimeout = 5 * time.Second
	oldSDKTries   = 3
)

// oldSDKClient is one thread of an application using the old Python SDK:
// a keep-alive session (one connection, reused) posting each event alone.
type oldSDKClient struct {
	http *http.Client
	url  string
}

func newOldSDKClient(v1URL string) *oldSDKClient {
	return &oldSDKClient{
		url: v1URL + "/v1/ingest/events",
		http: &http.Client{Timeout: oldSDKTimeout, Transport: &http.Transport{
			MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, IdleConnTimeout: time.Minute,
		}},
	}
}

// oldSDKResult is the outcome of one event as the SDK saw it.
type oldSDKResult struct {
	key     string
	status  int // 0: no answer after every try
	tries   int
	elapsed time.Duration // of the try that got the answer
}

// send posts one event as the SDK does.
func (c *oldSDKClient) send(key string, body []byte) oldSDKResult {
	res := oldSDKResult{key: key}
	for res.tries < oldSDKTries {
		res.tries++
		start := time.Now()
		resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(body))
		if err != nil {
			var netErr net.Error
			if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				continue // timeouts and connection errors are retried
			}
			return res
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		res.status, res.elapsed = resp.StatusCode, time.Since(start)
		return res
	}
	return res
}

// defaultCollector is otelcol-config.yaml run as `make run` runs it, its
// listeners moved to free loopback ports and its data directory to a
// temporary one through its environment variables.
type defaultCollector struct {
	*testcollector.Collector
	v1URL, telemetryURL string
	dataDir             string
}

func startDefaultCollector(t *testing.T) defaultCollector {
	t.Helper()
	config := testcollector.DefaultConfig(t)
	dataDir := t.TempDir()
	env, ports := testcollector.DefaultConfigEnv(t, config, dataDir)
	col := testcollector.Start(t, config, testcollector.Options{Env: env,
		HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"])})
	return defaultCollector{Collector: col, dataDir: dataDir,
		v1URL:        fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_V1_ENDPOINT"]),
		telemetryURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["WAFERMONITOR_TELEMETRY_PORT"])}
}

// peakRSSMiB is the collector's peak resident memory so far (VmHWM).
func (c defaultCollector) peakRSSMiB() int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.PID()))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kib / 1024
		}
	}
	return 0
}

// waitForEventRows waits until every key (of an accepted event) has a row
// in the CSV event files and returns the rows by key.
func (c defaultCollector) waitForEventRows(t *testing.T, keys []string) map[string]int {
	t.Helper()
	var byKey map[string]int
	missing := len(keys)
	testcollector.WaitFor(t, 2*time.Minute, "every accepted event in the CSV event files", func() bool {
		files, err := readCSVOutput(t, c.dataDir, csvEvents)
		if err != nil {
			t.Fatal(err)
		}
		byKey = map[string]int{}
		for _, row := range files.rows {
			byKey[row["idempotency_key"]]++
		}
		missing = 0
		for _, k := range keys {
			if byKey[k] == 0 {
				missing++
			}
		}
		return missing == 0
	})
	return byKey
}

// oldSDKRun is what threads of old-SDK senders got: answers by status,
// the events' keys, those answered 200, every answer's latency and how
// many events were tried more than once.
type oldSDKRun struct {
	answers   map[int]int
	keys      []string
	accepted  []string
	latencies []time.Duration // sorted
	retried   int
	took      time.Duration
}

// runOldSDKThreads starts threads old-SDK senders at once, each posting
// the events of jobs jobs (see jobEvents), and waits for them.
func runOldSDKThreads(v1URL string, threads, jobs int) oldSDKRun {
	start := make(chan struct{})
	results := make(chan oldSDKResult, threads*jobs*(2+2*subjobsPerJob))
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newOldSDKClient(v1URL)
			<-start
			for range jobs {
				for _, ev := range jobEvents(subjobsPerJob) {
					results <- c.send(ev.key, []byte(ev.json))
				}
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(results)
	run := oldSDKRun{answers: map[int]int{}, took: time.Since(began)}
	for r := range results {
		run.answers[r.status]++
		run.keys = append(run.keys, r.key)
		if r.status == http.StatusOK {
			run.accepted = append(run.accepted, r.key)
		}
		run.latencies = append(run.latencies, r.elapsed)
		if r.tries > 1 {
			run.retried++
		}
	}
	slices.Sort(run.latencies)
	return run
}

// check fails the test for every event not answered 200 at the first try
// within the SDK's timeout: an old client would have lost it or sent it again.
func (run oldSDKRun) check(t *testing.T) {
	t.Helper()
	if run.answers[http.StatusOK] != len(run.keys) {
		t.Errorf("%d of %d events not answered 200 (an old client loses them): %v", len(run.keys)-run.answers[http.StatusOK], len(run.keys), run.answers)
	}
	if run.retried > 0 {
		t.Errorf("%d events timed out at least once (the SDK's timeout is %s)", run.retried, oldSDKTimeout)
	}
	if slowest := run.latencies[len(run.latencies)-1]; slowest >= oldSDKTimeout {
		t.Errorf("slowest answer %s, not within the SDK's %s", slowest, oldSDKTimeout)
	}
}

// TestOldPythonClients runs 20 and then 64 threads, each an unmodified old
// Python SDK sender (see oldSDKClient), all at once against the default
// configuration: every event must be answered 200 within the SDK's 5 s
// (no refusal, no timeout, nothing lost) and be in the CSV event files.
func TestOldPythonClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector under load")
	}
	for _, tc := range []struct{ threads, jobsPerThread int }{{20, 5}, {64, 4}} {
		t.Run(fmt.Sprintf("%d threads", tc.threads), func(t *testing.T) {
			col := startDefaultCollector(t)
			run := runOldSDKThreads(col.v1URL, tc.threads, tc.jobsPerThread)
			rows := col.waitForEventRows(t, run.accepted)
			twice := 0
			for _, k := range run.accepted {
				if rows[k] > 1 {
					twice++
				}
			}
			n := len(run.keys)
			figures := fmt.Sprintf("%d threads × %d events in %.1fs (%.0f requests/s): answers %v, retried after a timeout %d, p99 %s, slowest %s, rows %d for %d events (%d twice), peak RSS %d MiB",
				tc.threads, n/tc.threads, run.took.Seconds(), float64(n)/run.took.Seconds(), run.answers, run.retried,
				run.latencies[n*99/100].Round(time.Millisecond), run.latencies[n-1].Round(time.Millisecond), len(rows), n, twice, col.peakRSSMiB())
			logFigures(t, figures)
			run.check(t)
		})
	}
}

// TestSlowBodiesDoNotDelayOldClients: ten connections send their body one
// byte at a time while 16 old-SDK threads send events to the default
// configuration. Every event of the old clients is answered 200 within the
// SDK's 5 s timeout: slow senders hold only their own bytes.
func TestSlowBodiesDoNotDelayOldClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector under load")
	}
	col := startDefaultCollector(t)
	addr := strings.TrimPrefix(col.v1URL, "http://")
	body := []byte(jobEvents(0)[0].json)
	stop := make(chan struct{})
	var tricklers sync.WaitGroup
	for range 10 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(conn, "POST /v1/ingest/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
			t.Fatal(err)
		}
		tricklers.Add(1)
		go func() {
			defer tricklers.Done()
			defer conn.Close()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < len(body)-1; i++ { // never the last byte
				if _, err := conn.Write(body[i : i+1]); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	run := runOldSDKThreads(col.v1URL, 16, 3)
	close(stop)
	tricklers.Wait()
	col.waitForEventRows(t, run.accepted)
	figures := fmt.Sprintf("10 trickling bodies, %d events from 16 old-SDK threads: answers %v, slowest %s, peak RSS %d MiB",
		len(run.keys), run.answers, run.latencies[len(run.latencies)-1].Round(time.Millisecond), col.peakRSSMiB())
	logFigures(t, figures)
	run.check(t)
}

// TestConcurrentCopiesOneRow: six identical requests at once, for each of
// 30 events, against the default configuration: one copy of each is
// accepted and five answered as duplicates, and each event has one row in
// the CSV event files.
func TestConcurrentCopiesOneRow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a collector")
	}
	col := startDefaultCollector(t)
	const copies = 6
	var events []v1Event
	for len(events) < 30 {
		events = append(events, jobEvents(subjobsPerJob)...)
	}
	clients := make([]*http.Client, copies)
	for i := range clients {
		clients[i] = &http.Client{Timeout: oldSDKTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	}
	var keys []string
	answers := map[string]int{}
	for _, ev := range events {
		keys = append(keys, ev.key)
		start := make(chan struct{})
		got := make(chan string, copies)
		for _, c := range clients {
			go func() {
				<-start
				resp, err := c.Post(col.v1URL+"/v1/event", "application/json", strings.NewReader(ev.json))
				if err != nil {
					got <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				got <- fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
			}()
		}
		close(start)
		perEvent := map[string]int{}
		for range copies {
			perEvent[<-got]++
		}
		for a, n := range perEvent {
			answers[a] += n
		}
		if want := map[string]int{
			`200 {"ok":true,"accepted":1,"duplicates":0}`: 1,
			`200 {"ok":true,"accepted":0,"duplicates":1}`: copies - 1,
		}; fmt.Sprint(perEvent) != fmt.Sprint(want) {
			t.Errorf("event %s: answers %v, want %v", ev.key, perEvent, want)
		}
	}
	rows := col.waitForEventRows(t, keys)
	twice := 0
	for _, k := range keys {
		if rows[k] != 1 {
			twice++
			t.Errorf("event %s has %d rows", k, rows[k])
		}
	}
	// The receiver's counts, in its legacy GET /metrics and in the
	// collector's telemetry, read from one set of counters.
	for url, line := range map[string]string{
		col.v1URL + "/metrics": `wafermonitor_receiver_events_duplicate_total `,
		col.telemetryURL:       `otelcol_receiver_wafermonitor_events_duplicate_total{`,
	} {
		if got := metricValue(t, url, line); got != float64(len(keys)*(copies-1)) {
			t.Errorf("%s: %s… is %v, want %d", url, line, got, len(keys)*(copies-1))
		}
	}
	figures := fmt.Sprintf("%d events × %d concurrent copies: answers %v; events with more than one row: %d", len(keys), copies, answers, twice)
	logFigures(t, figures)
}

// logFigures logs a test's measurements and prints them as a FIGURES line.
func logFigures(t *testing.T, figures string) {
	t.Helper()
	t.Log(figures)
	fmt.Printf("FIGURES %s: %s\n", t.Name(), figures)
}

// metricValue is the value of the first line of a Prometheus text answer
// that starts with prefix.
func metricValue(t *testing.T, url, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec // loopback test URL
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, prefix) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", url, line, err)
			}
			return v
		}
	}
	t.Fatalf("%s: no line starts with %q", url, prefix)
	return 0
}
