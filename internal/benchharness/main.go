// Command benchharness measures the otelcol-wafermonitor distribution side
// by side with its peers, in one run on one machine, and writes the result
// to docs/benchmarks.md and docs/benchmarks.svg.
//
// It runs the collector binary (OTELCOL_WAFERMONITOR_BIN, or a build of the
// repository) with the shipped otelcol-config.yaml, only its addresses and
// data directory moved through the environment variables it reads (the
// `default` pipeline), and with a plain receiver → batch → debug pipeline;
// with -baseline-bin or -baseline-rev, another build runs the shipped
// configuration too, for a before/after table. It sends the same jobs as v1
// events to the wafermonitor receiver and as OTLP/HTTP log records (JSON and
// protobuf) to the otlp receiver; in the default pipeline's cells of the
// efficiency targets also as OTLP JSON of the same output, the log records
// and the spans of the finished subjobs. Cells (pipeline × protocol × load shape)
// run interleaved, round after round, so that drift of a shared machine hits
// every protocol alike; ratios against a peer of the same run are the result
// to read. The last round is profiled (CPU and heap, through the pprof
// extension that only the harness's configuration enables). It also runs the
// SDK's Go benchmarks and measures the processor's memory per open job in
// this process.
//
// Run it from the repository root: `make bench` (about 12 minutes on two
// cores), or `make bench BENCH_ARGS=-quick` (about 2 minutes, a smoke test of
// the harness that writes its report under the system temp directory).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const envBinary = "OTELCOL_WAFERMONITOR_BIN"

type options struct {
	quick      bool
	budget     time.Duration
	cell       time.Duration
	rounds     int
	rate       int
	openJobs   int
	idleAfter  []time.Duration
	out        string
	svg        string
	profileDir string
	config     string
	sdkCount   int
	sdkTime    string
	memJobs    []int
	onlyLoad   bool
	// baseline is another build of the collector; baselineRev a git
	// revision to build it from.
	baseline, baselineRev string
	// baselineConfig is the configuration the baseline runs.
	baselineConfig string
	// baselineDesc names the baseline build in the report (e.g. its commit).
	baselineDesc string
	// args is the command line, for the report.
	args []string
}

// defaultOptions are a full run's settings.
func defaultOptions() options {
	return options{
		budget: 15 * time.Minute, cell: 2500 * time.Millisecond, rounds: 3, rate: 1000, openJobs: 10000,
		idleAfter: []time.Duration{0, 30 * time.Second, 60 * time.Second},
		out:       "docs/benchmarks.md", svg: "docs/benchmarks.svg", config: "otelcol-config.yaml",
		sdkCount: 3, sdkTime: "1s", memJobs: []int{1000, 10000, 100000},
	}
}

// applyQuick turns o into the quick run, a smoke test of the harness in
// about two minutes: every pipeline, protocol and load shape once, with
// short cells and a smaller state, no SDK benchmarks; its report goes under
// the system temp directory so that docs/benchmarks.md keeps the full run.
// Flags given on the command line (set) keep their values.
func applyQuick(o *options, set map[string]bool) {
	dir := filepath.Join(os.TempDir(), "wafermonitor-bench-quick")
	quick := map[string]func(){
		"budget":      func() { o.budget = 5 * time.Minute },
		"cell":        func() { o.cell = time.Second },
		"rounds":      func() { o.rounds = 1 },
		"open-jobs":   func() { o.openJobs = 1000 },
		"idle-after":  func() { o.idleAfter = []time.Duration{0, 3 * time.Second} },
		"out":         func() { o.out = filepath.Join(dir, "benchmarks.md") },
		"svg":         func() { o.svg = filepath.Join(dir, "benchmarks.svg") },
		"profile-dir": func() { o.profileDir = filepath.Join(dir, "profiles") },
		"memory-jobs": func() { o.memJobs = []int{1000} },
		"sdk-count":   func() { o.sdkCount = 0 },
	}
	for name, apply := range quick {
		if !set[name] {
			apply()
		}
	}
}

func main() {
	o := defaultOptions()
	flag.BoolVar(&o.quick, "quick", false, "a smoke test of the harness in about two minutes (one short round, 1,000 open jobs, no SDK benchmarks); the report goes under the system temp directory unless -out is given")
	flag.DurationVar(&o.budget, "budget", o.budget, "wall time the run may take after building the collectors; rounds stop early to keep it")
	flag.DurationVar(&o.cell, "cell", o.cell, "duration of one cell's load (pipeline × protocol × load shape) in one round")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "interleaved rounds over all cells")
	flag.IntVar(&o.rate, "rate", o.rate, "request rate of the open-loop cells (requests/s)")
	flag.IntVar(&o.openJobs, "open-jobs", o.openJobs, "open jobs the stateful pipelines hold, opened before the run, whose subjobs the open-jobs cells report")
	idle := flag.String("idle-after", "0s,30s,60s", "when, after the last cell, to read the collectors' memory")
	flag.StringVar(&o.out, "out", o.out, "markdown report (relative to the repository root)")
	flag.StringVar(&o.svg, "svg", o.svg, "chart")
	flag.StringVar(&o.profileDir, "profile-dir", "", "where to save the CPU and heap profiles of the last round (default: a new directory under the system temp directory)")
	flag.StringVar(&o.config, "config", o.config, "the shipped configuration the default pipeline runs")
	flag.IntVar(&o.sdkCount, "sdk-count", o.sdkCount, "runs of each SDK benchmark (-count); 0 skips them")
	flag.StringVar(&o.sdkTime, "sdk-benchtime", o.sdkTime, "-benchtime of the SDK benchmarks")
	flag.StringVar(&o.baseline, "baseline-bin", "", "another build of the collector (e.g. of an earlier commit) that runs the shipped configuration interleaved with this one's, for a before/after table")
	flag.StringVar(&o.baselineRev, "baseline-rev", "", "a git revision to build the baseline from (git archive into a temporary directory), instead of -baseline-bin")
	flag.StringVar(&o.baselineConfig, "baseline-config", "", "the configuration the baseline runs (default: the revision's otelcol-config.yaml with -baseline-rev, else -config)")
	flag.StringVar(&o.baselineDesc, "baseline-desc", "", "what the baseline build is, for the report (default: the revision or the binary's name)")
	flag.BoolVar(&o.onlyLoad, "only-ingestion", false, "skip the SDK benchmarks and the processor memory measurement")
	memJobs := flag.String("memory-jobs", "1000,10000,100000", "open-job counts of the in-process processor memory measurement")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	if set["idle-after"] {
		if o.idleAfter, err = parseDurations(*idle); err != nil {
			log.Fatalf("-idle-after: %v", err)
		}
	}
	if set["memory-jobs"] {
		if o.memJobs, err = parseCounts(*memJobs); err != nil {
			log.Fatalf("-memory-jobs: %v", err)
		}
	}
	if o.quick {
		applyQuick(&o, set)
	}
	if o.rounds < 1 || o.cell < time.Second || o.rate < 1 || o.openJobs < 1 || o.sdkCount < 0 {
		log.Fatal("-rounds, -rate and -open-jobs must be positive, -sdk-count not negative and -cell at least 1s (a CPU profile's shortest)")
	}
	o.args = os.Args[1:]
	if _, err := run(o); err != nil {
		log.Fatal(err)
	}
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 || (len(out) > 0 && d <= out[len(out)-1]) {
			return nil, fmt.Errorf("%q: want increasing durations like 0s,30s,60s", s)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}
