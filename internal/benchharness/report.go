package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

type machine struct {
	nproc              int
	cpuModel, memTotal string
	goVersion, kernel  string
	loadStart, loadEnd string
	// commit is the revision of the tree measured.
	commit     string
	gomaxprocs int
}

func firstLine(path, prefix string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine() machine {
	m := machine{nproc: runtime.NumCPU(), gomaxprocs: runtime.GOMAXPROCS(0), loadStart: loadAvg(),
		cpuModel: firstLine("/proc/cpuinfo", "model name"), memTotal: firstLine("/proc/meminfo", "MemTotal")}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.goVersion = runtime.Version()
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	return m
}

// treeCommit is the revision of the repository at root, and whether files
// other than the report differ from it.
func treeCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%h (%s)").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	commit := strings.TrimSpace(string(out))
	status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return commit
	}
	for _, line := range strings.Split(strings.TrimSpace(string(status)), "\n") {
		if f := strings.Fields(line); len(f) > 1 && !strings.HasPrefix(f[len(f)-1], "docs/benchmarks.") {
			return commit + " with uncommitted changes"
		}
	}
	return commit
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// roundRange is the smallest and largest per-round ratio of f(a) to f(b).
func roundRange(a, b *agg, f func(sample) float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < len(a.rounds) && i < len(b.rounds); i++ {
		x := ratio(f(a.rounds[i]), f(b.rounds[i]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if math.IsInf(lo, 1) {
		return "–"
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

func rate(s sample) float64 { return float64(s.events) / s.elapsed.Seconds() }
func perCPU(s sample) float64 {
	if s.cpu <= 0 {
		return math.NaN()
	}
	return float64(s.events) / s.cpu.Seconds()
}

func f2(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func yesNo(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

const mib = 1 << 20

func mibs(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/mib) }

// errorsText is a cell's errors by HTTP status ("503 ×12").
func errorsText(a *agg) string {
	if a.errors == 0 {
		return "0"
	}
	statuses := make([]int, 0, len(a.byStatus))
	for s := range a.byStatus {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	var parts []string
	for _, s := range statuses {
		name := fmt.Sprint(s)
		if s == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, a.byStatus[s]))
	}
	return strings.Join(parts, ", ")
}

// writer is the report being written.
type writer struct{ b bytes.Buffer }

func (w *writer) p(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func renderMarkdown(r *results) string {
	w := &writer{}
	w.header(r)
	w.targets(r)
	w.headline(r)
	w.beforeAfter(r)
	w.memoryAfterLoad(r)
	w.diskWrites(r)
	w.whereTheTimeGoes(r)
	w.ingestion(r)
	w.sdk(r)
	w.processorMemory(r)
	w.method(r)
	w.machineTable(r)
	return w.b.String()
}

func (w *writer) header(r *results) {
	w.p("# Benchmarks\n\n")
	w.p("The collector as users run it, the shipped `otelcol-config.yaml` (the `default` pipeline, only its addresses and\n")
	w.p("data directory moved), measured beside a `plain` receiver → batch → debug pipeline, for old clients' v1 events and\n")
	w.p("OTLP/HTTP (JSON and protobuf) of the same events, in one run of `make bench` (the harness in\n")
	w.p("`internal/benchharness`); then the SDK's cost per job and the processor's memory per open job. **Ratios against a\n")
	w.p("peer measured in the same run are the result; absolute figures are for this machine only** and, on a shared\n")
	w.p("machine, noisy: every cell ran in each of %d interleaved rounds, and the spread of a ratio over the rounds is\n", r.rounds)
	w.p("shown next to it.\n\n")
	w.p("Latest run: %s to %s UTC of `%s`, load average %s at the start and %s at the end (the machine has %d CPUs).\n",
		r.started.Format("2006-01-02 15:04"), r.finished.Format("15:04"), r.machine.commit, r.machine.loadStart, r.machine.loadEnd, r.machine.nproc)
	w.p("CPU and heap profiles of every cell of the last round: `%s`.\n\n", r.opts.profileDir)
	w.p("![v1 and OTLP/HTTP ingestion on the default pipeline: events/s and collector CPU per million events](benchmarks.svg)\n\n")
}

// targets are the goals of the default pipeline, each judged on this run.
func (w *writer) targets(r *results) {
	d := pipeDefault
	w.p("## Targets: the `default` pipeline\n\n")
	w.p("| target | measured | peer in the same run | |\n|---|---|---|---|\n")
	for _, m := range []mode{modeSingle16, modeBatch} {
		v1, js := r.cell(d, protoV1, m.name), r.cell(d, protoOTLPJSON, m.name)
		x := ratio(v1.efficiency(), js.efficiency())
		w.p("| v1 events per collector CPU-second ≥ 1.0× OTLP JSON's, %s | %s (rounds %s) | CPU-s per 10^6 events: v1 %.1f, OTLP JSON %.1f | %s |\n",
			m.name, f2(x), roundRange(v1, js, perCPU), v1.cpuPerMillion(), js.cpuPerMillion(), yesNo(x >= 1))
		same := r.cell(d, protoOTLPSpans, m.name)
		w.p("| *informational:* v1 ÷ OTLP JSON of the same output (logs and spans), %s | %s (rounds %s) | CPU-s per 10^6 events: v1 %.1f, OTLP JSON logs and spans %.1f | not a target |\n",
			m.name, f2(ratio(v1.efficiency(), same.efficiency())), roundRange(v1, same, perCPU), v1.cpuPerMillion(), same.cpuPerMillion())
	}
	open := r.openMode.name
	v1, js, pv1 := r.cell(d, "v1", open), r.cell(d, "otlp-json", open), r.cell(pipePlain, "v1", open)
	w.p("| %s: p99 < 10 ms | v1 p99 %.2f ms, p50 %.2f ms, %d requests, errors: %s; %s | OTLP JSON p99 %.2f ms, p50 %.2f ms | %s |\n",
		open, ms(v1.pct(0.99)), ms(v1.pct(0.5)), v1.requests, errorsText(v1), lateText(v1), ms(js.pct(0.99)), ms(js.pct(0.5)),
		yesNo(v1.requests > 0 && v1.errors == 0 && v1.pct(0.99) < 10*time.Millisecond))
	pr := ratio(float64(v1.pct(0.99)), float64(pv1.pct(0.99)))
	w.p("| %s: p99 within 1.5× of `plain`'s | default ÷ plain, v1 p99: %s | `plain` v1 p99 %.2f ms, p50 %.2f ms | %s |\n",
		open, f2(pr), ms(pv1.pct(0.99)), ms(pv1.pct(0.5)), yesNo(pr <= 1.5))
	w.rssTargets(r)
	w.stateTarget(r)
	b, s := r.cell(d, "v1", modeBatch.name), r.cell(d, "v1", modeSingle16.name)
	br := ratio(b.eventsPerSec(), s.eventsPerSec())
	w.p("| v1 %s ≥ 2× the events/s of %s | %s (rounds %s) | %.0f events/s against %.0f | %s |\n",
		modeBatch.name, modeSingle16.name, f2(br), roundRange(b, s, rate), b.eventsPerSec(), s.eventsPerSec(), yesNo(br >= 2))
	var refused []string
	r.eachCell(d, func(m mode, p string, a *agg) {
		if a.errors > 0 {
			refused = append(refused, fmt.Sprintf("%s %s: %s of %d", p, m.name, errorsText(a), a.requests+a.errors))
		}
	})
	w.p("| nothing refused (an old client drops an event on any error status) | %s | `plain`: %d errors | %s |\n",
		orNone(strings.Join(refused, "; ")), r.pipelineErrors(pipePlain), yesNo(len(refused) == 0))
	if len(r.mem) > 0 {
		worst := 0.0
		for _, m := range r.mem {
			worst = math.Max(worst, m.perJobRolls)
		}
		w.p("| processor memory < 1 KiB per open job | at most %.0f B per open job with its roll-up summary (in this process, *Processor memory*) | | %s |\n", worst, yesNo(worst < 1024))
	}
	w.p("\nThe efficiency targets compare v1 with OTLP JSON carrying each event's log record only (`%s`), as they are set.\n", protoOTLPJSON)
	w.p("For a finished subjob the v1 receiver also makes its span, which the pipeline carries and writes too; a site's\n")
	w.p("OTLP client (the SDK) sends that span as well. The informational rows compare v1 with that same output in OTLP\n")
	w.p("JSON (`%s`: the log records, then the spans of the finished subjobs to `/v1/traces`).\n", protoOTLPSpans)
	w.p("\nWhy the targets not met are missed, from the profiles and counters of a full run: [performance.md](performance.md).\n\n")
}

// lateText is how many subjobs (units of a started and a finished
// request) of an open-loop cell the load generator began to send more than
// 1 ms after their time: a busy machine, not the collector.
func lateText(a *agg) string {
	n := (a.requests + a.errors) / 2
	if n == 0 {
		return "no request"
	}
	return fmt.Sprintf("%.1f%% of the subjobs sent more than 1 ms late", 100*float64(a.late)/float64(n))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (r *results) pipelineErrors(pipe string) int {
	n := 0
	for k, a := range r.cells {
		if k.pipeline == pipe {
			n += a.errors
		}
	}
	return n
}

// rssTargets: RSS back under 150 MiB within 60 s of the load, and the
// peak under memory_limiter's limit.
func (w *writer) rssTargets(r *results) {
	info := r.collectors[pipeDefault]
	if info == nil || len(info.afterLoad) == 0 {
		return
	}
	last := info.afterLoad[len(info.afterLoad)-1]
	var seq []string
	for _, a := range info.afterLoad {
		seq = append(seq, fmt.Sprintf("%s MiB at %s", mibs(a.rss), a.at))
	}
	peer := ""
	if p := r.collectors[pipePlain]; p != nil && len(p.afterLoad) > 0 {
		peer = fmt.Sprintf("`plain`: %s MiB at %s", mibs(p.afterLoad[len(p.afterLoad)-1].rss), last.at)
	}
	w.p("| RSS back under 150 MiB within 60 s of the load's end | %s; of the last, %s MiB map files, Go heap %s MiB, %s MiB held by the runtime unused | %s | %s |\n",
		strings.Join(seq, ", "), mibs(last.rssFile), mibs(last.mem.heapAlloc), mibs(last.mem.retained()), peer,
		yesNo(last.err == nil && last.at <= time.Minute && last.rss < 150*mib))
	limit := "none"
	if info.memoryLimitMiB > 0 {
		limit = fmt.Sprintf("%.0f MiB", info.memoryLimitMiB)
	}
	w.p("| peak RSS under memory_limiter's limit | peak %s MiB over the run (limit_mib: %s) | `plain`: %s MiB | %s |\n",
		mibs(info.peakRSS), limit, mibs(r.collectors[pipePlain].peakRSS),
		yesNo(info.memoryLimitMiB > 0 && float64(info.peakRSS) < info.memoryLimitMiB*mib))
}

// stateTarget: what the processor's state checkpoints write per event in
// the open-jobs cells: the default pipeline's writes beyond those of the
// same configuration without the processor's storage. It is judged on the
// bytes passed to write calls; the bytes the page cache sent to disk are
// shown beside them, but within a cell they depend on when the kernel
// writes dirty pages back more than on the collector.
func (w *writer) stateTarget(r *results) {
	m := r.openJobsMode.name
	worst := math.Inf(-1)
	var parts []string
	for _, p := range []string{"v1", "otlp-json"} {
		d, n := r.cell(pipeDefault, p, m), r.cell(pipeNoState, p, m)
		written := d.perEvent(d.io.wchar) - n.perEvent(n.io.wchar)
		disk := d.perEvent(d.io.writeBytes) - n.perEvent(n.io.writeBytes)
		if d.events == 0 || n.events == 0 {
			written = math.Inf(1)
		}
		worst = math.Max(worst, written)
		parts = append(parts, fmt.Sprintf("%s %.0f B written (%.0f B to disk)", p, written, disk))
	}
	ns := r.cell(pipeNoState, "v1", m)
	w.p("| state checkpoints ≤ 2 KiB per event at %d open jobs (%s) | `default` − `nostate` per event: %s | `nostate` (no state storage), v1: %.0f B written per event | %s |\n",
		r.opts.openJobs, m, strings.Join(parts, "; "), r.fileWrites(ns, "v1", r.openJobsMode), yesNo(worst <= 2048))
}

// fileWrites is what a cell passed to write calls per event, but for its
// HTTP answers: the write() bytes of the plain pipeline, which writes no
// file, for the same protocol and load (the open loop's for the open-jobs
// load; OTLP JSON's for OTLP JSON of the same output, which the plain
// pipeline is not sent, so that its answers to /v1/traces stay in) are
// taken off.
func (r *results) fileWrites(a *agg, protocol string, m mode) float64 {
	if m.openJobs {
		m = r.openMode
	}
	if protocol == protoOTLPSpans {
		protocol = protoOTLPJSON
	}
	p := r.cell(pipePlain, protocol, m.name)
	return a.perEvent(a.io.wchar) - p.perEvent(p.io.wchar)
}
