// Command benchharness measures the otelcol-wafermonitor distribution side
// by side with the alternatives, in one run on one machine, and writes the
// result to docs/benchmarks.md and docs/benchmarks.svg.
//
// It builds the collector (or uses OTELCOL_WAFERMONITOR_BIN), starts it
// twice on loopback ports, once with a plain pipeline and once with the
// jobhierarchy processor and a persistent queue, and sends the same jobs as
// v1 events to the wafermonitor receiver and as OTLP/HTTP log records (JSON
// and protobuf) to the otlp receiver. Cells (pipeline × protocol × load
// shape) run interleaved, round after round, so that drift of a shared
// machine hits every protocol alike; ratios are the result to read. It also
// runs the SDK's Go benchmarks and measures the processor's memory per open
// job in this process.
//
// Run it from the repository root: `make bench`, or
// `go run ./internal/benchharness`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

const envBinary = "OTELCOL_WAFERMONITOR_BIN"

type options struct {
	budget     time.Duration
	cell       time.Duration
	rounds     int
	rate       int
	out        string
	svg        string
	profileDir string
	sdkCount   int
	sdkTime    string
	memJobs    []int
	onlyLoad   bool
	baseline   string
	// baselineDesc names the baseline build in the report (e.g. its commit).
	baselineDesc string
}

// The load shapes. Batches go with 4 clients so that the collector, not a
// client's round trip, is the bottleneck.
var closedModes = []mode{
	{name: "single, 1 client", clients: 1, events: 1},
	{name: "single, 16 clients", clients: 16, events: 1},
	{name: "single, 64 clients", clients: 64, events: 1},
	{name: "batch of 100, 4 clients", clients: 4, events: 100},
}

func main() {
	var o options
	flag.DurationVar(&o.budget, "budget", 10*time.Minute, "wall time the whole run may take; rounds stop early to keep it")
	flag.DurationVar(&o.cell, "cell", 2500*time.Millisecond, "duration of one cell (pipeline × protocol × load shape) in one round")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds over all cells")
	flag.IntVar(&o.rate, "rate", 1000, "request rate of the open-loop latency measurement (requests/s)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown report")
	flag.StringVar(&o.svg, "svg", "docs/benchmarks.svg", "chart")
	flag.StringVar(&o.profileDir, "profile-dir", "", "when set, save CPU profiles of the collector (pprof) taken during the v1 and OTLP JSON cells of the last round")
	flag.IntVar(&o.sdkCount, "sdk-count", 3, "runs of each SDK benchmark (-count)")
	flag.StringVar(&o.sdkTime, "sdk-benchtime", "1s", "-benchtime of the SDK benchmarks")
	flag.StringVar(&o.baseline, "baseline-bin", "", "another build of the collector (e.g. of an earlier commit) whose v1 ingestion runs interleaved with this one's in the plain pipeline, for a before/after comparison")
	flag.StringVar(&o.baselineDesc, "baseline-desc", "", "what the baseline build is, for the report (e.g. its commit)")
	flag.BoolVar(&o.onlyLoad, "only-ingestion", false, "skip the SDK benchmarks and the processor memory measurement (for trying the ingestion part)")
	memJobs := flag.String("open-jobs", "1000,10000,100000", "open-job counts of the processor memory measurement")
	flag.Parse()
	for _, s := range strings.Split(*memJobs, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n <= 0 {
			log.Fatalf("-open-jobs: %q is not a positive count", s)
		}
		o.memJobs = append(o.memJobs, n)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the repository (no builder-config.yaml above the working directory)")
		}
		dir = parent
	}
}

func buildCollector(ctx context.Context, root, workDir string) (string, error) {
	if p := os.Getenv(envBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envBinary, p, err)
		}
		return p, nil
	}
	out := filepath.Join(workDir, "otelcol-wafermonitor")
	// The same flags as `make build`.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(root, "cmd", "otelcol-wafermonitor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the collector: %w: %s", err, msg)
	}
	return out, nil
}

type cellKey struct {
	pipeline, protocol, mode string
}

// agg is a cell summed over the rounds.
type agg struct {
	sample
	rounds    []sample
	sortedLat bool
}

func (a *agg) add(s sample) {
	a.requests += s.requests
	a.events += s.events
	a.errors += s.errors
	if a.firstErr == "" {
		a.firstErr = s.firstErr
	}
	a.elapsed += s.elapsed
	a.cpu += s.cpu
	a.late += s.late
	a.peakRSS = max(a.peakRSS, s.peakRSS)
	a.latencies = append(a.latencies, s.latencies...)
	s.latencies = nil
	a.rounds = append(a.rounds, s)
}

func (a *agg) eventsPerSec() float64 {
	if a.elapsed <= 0 {
		return 0
	}
	return float64(a.events) / a.elapsed.Seconds()
}

// cpuPerMillion is collector CPU-seconds per million events.
func (a *agg) cpuPerMillion() float64 {
	if a.events == 0 {
		return 0
	}
	return a.cpu.Seconds() / float64(a.events) * 1e6
}

func (a *agg) pct(p float64) time.Duration {
	if !a.sortedLat {
		sortDurations(a.latencies)
		a.sortedLat = true
	}
	return percentile(a.latencies, p)
}

type results struct {
	started, finished time.Time
	machine           machine
	command           string
	rounds            int
	cells             map[cellKey]*agg
	openMode          mode
	idleRSS           map[string]uint64 // pipeline -> bytes, after start
	idleRSSAfter      map[string]uint64 // pipeline -> bytes, idle after the load
	sdk               map[string]*benchResult
	sdkRaw            string
	sdkErr            error
	mem               []memSample
	memErr            error
	profiles          []string
	opts              options
	baselineDesc      string
}

func run(o options) error {
	start := time.Now()
	deadline := start.Add(o.budget)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Minute))
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "wafermonitor-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(workDir) }()

	res := &results{started: start.UTC(), cells: map[cellKey]*agg{}, idleRSS: map[string]uint64{}, idleRSSAfter: map[string]uint64{},
		command: "make bench  # = go run ./internal/benchharness " + strings.Join(os.Args[1:], " "), opts: o,
		openMode: mode{name: fmt.Sprintf("single, open loop at %d req/s", o.rate), events: 1, rate: o.rate}}
	res.machine = describeMachine()
	res.baselineDesc = o.baselineDesc
	if res.baselineDesc == "" {
		res.baselineDesc = filepath.Base(o.baseline)
	}

	log.Printf("building the collector")
	bin, err := buildCollector(ctx, root, workDir)
	if err != nil {
		return err
	}

	if o.onlyLoad {
		o.memJobs = nil
		res.sdkErr = errors.New("skipped (-only-ingestion)")
	} else {
		log.Printf("SDK benchmarks (go test -bench in sdk/jobs)")
		res.sdk, res.sdkRaw, res.sdkErr = runSDKBenchmarks(ctx, root, o.sdkCount, o.sdkTime)
		if res.sdkErr != nil {
			log.Printf("SDK benchmarks failed: %v", res.sdkErr)
		}
		log.Printf("processor memory per open job")
	}
	for _, n := range o.memJobs {
		m, err := processorMemory(ctx, n)
		if err != nil {
			res.memErr = err
			break
		}
		log.Printf("  %d open jobs: %.0f B/job, %.0f B/job with roll-ups", n, m.perJob, m.perJobRolls)
		res.mem = append(res.mem, m)
	}

	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	var cols []*collector
	defer func() {
		for _, c := range cols {
			c.stop()
		}
	}()
	for _, p := range pipelines {
		c, err := startCollector(ctx, bin, workDir, p)
		if err != nil {
			return err
		}
		cols = append(cols, c)
	}
	if o.baseline != "" {
		c, err := startCollector(ctx, o.baseline, workDir, baselinePipeline)
		if err != nil {
			return err
		}
		cols = append(cols, c)
	}
	// Idle: started, nothing received yet, a few seconds to settle.
	time.Sleep(3 * time.Second)
	for _, c := range cols {
		res.idleRSS[c.pipeline.name], _ = c.status("VmRSS")
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true,
	}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	// One requester per cell, each with its own range of event numbers, so
	// that no entity or idempotency key repeats within a collector.
	modes := append(append([]mode(nil), closedModes...), res.openMode)
	reqs := map[cellKey]*requester{}
	var rangeIndex uint64
	for _, c := range cols {
		for _, p := range protocols {
			if !measured(c, p) {
				continue
			}
			for _, m := range modes {
				counter := new(atomic.Uint64)
				counter.Store(rangeIndex * 2_000_000_000)
				rangeIndex++
				reqs[cellKey{c.pipeline.name, p.name, m.name}] = newRequester(client, c, p, m, counter)
			}
		}
	}

	// Warm-up (not measured): connections, code paths, the heap's first growth.
	for _, c := range cols {
		for _, p := range protocols {
			if !measured(c, p) {
				continue
			}
			for _, m := range []mode{closedModes[1], closedModes[3]} {
				closedLoop(ctx, reqs[cellKey{c.pipeline.name, p.name, m.name}], m, 500*time.Millisecond)
			}
		}
	}

	settle := 300 * time.Millisecond // the batch processor's 200 ms timeout, so a cell's export counts in it
	var roundTime time.Duration
	for round := 0; round < o.rounds; round++ {
		if round > 0 && time.Until(deadline) < roundTime+15*time.Second {
			log.Printf("stopping after %d rounds to stay within -budget %s", round, o.budget)
			break
		}
		roundStart := time.Now()
		last := round == o.rounds-1
		for _, m := range modes {
			for _, c := range cols {
				for i := range protocols {
					// Rotate the order of protocols from round to round.
					p := protocols[(i+round)%len(protocols)]
					if !measured(c, p) {
						continue
					}
					key := cellKey{c.pipeline.name, p.name, m.name}
					r := reqs[key]
					var profileDone chan struct{}
					if last && o.profileDir != "" && p.name != "otlp-proto" && (m.name == closedModes[0].name || m.name == closedModes[3].name) {
						profileDone = make(chan struct{})
						path := filepath.Join(o.profileDir, fmt.Sprintf("cpu-%s-%s-%s.pprof", c.pipeline.name, p.name, strings.NewReplacer(" ", "", ",", "-").Replace(m.name)))
						res.profiles = append(res.profiles, path)
						go func() {
							defer close(profileDone)
							if err := c.cpuProfile(ctx, o.cell, path); err != nil {
								log.Printf("profile %s: %v", path, err)
							}
						}()
					}
					_ = c.resetPeakRSS()
					cpu0, err := c.cpu()
					if err != nil {
						return fmt.Errorf("collector %s: %w (%s)", c.pipeline.name, err, c.stderr.String())
					}
					var s sample
					if m.rate > 0 {
						s = openLoop(ctx, r, m, o.cell)
					} else {
						s = closedLoop(ctx, r, m, o.cell)
					}
					time.Sleep(settle)
					cpu1, err := c.cpu()
					if err != nil {
						return fmt.Errorf("collector %s: %w (%s)", c.pipeline.name, err, c.stderr.String())
					}
					s.cpu = cpu1 - cpu0
					s.peakRSS, _ = c.status("VmHWM")
					if profileDone != nil {
						<-profileDone
					}
					if res.cells[key] == nil {
						res.cells[key] = &agg{}
					}
					res.cells[key].add(s)
					log.Printf("round %d %-9s %-10s %-32s %8.0f events/s  p99 %6.2f ms  %6.1f CPU-s/M  errors %d %s",
						round+1, key.pipeline, key.protocol, key.mode, float64(s.events)/s.elapsed.Seconds(),
						ms(pctOf(s.latencies, 0.99)), s.cpu.Seconds()/float64(max(s.events, 1))*1e6, s.errors, s.firstErr)
				}
			}
		}
		res.rounds = round + 1
		roundTime = time.Since(roundStart)
	}
	time.Sleep(3 * time.Second)
	for _, c := range cols {
		res.idleRSSAfter[c.pipeline.name], _ = c.status("VmRSS")
	}
	res.finished = time.Now().UTC()
	res.machine.loadEnd = loadAvg()

	md := renderMarkdown(res)
	svg := renderSVG(res)
	for _, f := range []struct{ path, text string }{{o.out, md}, {o.svg, svg}} {
		path := f.path
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, []byte(f.text), 0o644); err != nil { //nolint:gosec // a document
			return err
		}
	}
	log.Printf("wrote %s and %s in %s", o.out, o.svg, time.Since(start).Round(time.Second))
	return nil
}

// measured tells whether a protocol runs against a collector: the baseline
// build only takes v1.
func measured(c *collector, p protocol) bool {
	return c.pipeline.name != baselinePipeline.name || p.name == "v1"
}

func pctOf(lat []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), lat...)
	sortDurations(s)
	return percentile(s, p)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
