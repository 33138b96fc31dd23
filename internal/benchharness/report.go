package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type machine struct {
	nproc              int
	cpuModel, memTotal string
	goVersion, kernel  string
	loadStart, loadEnd string
	gomaxprocs         int
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

func (r *results) cell(pipeline, protocol, mode string) *agg {
	if a := r.cells[cellKey{pipeline, protocol, mode}]; a != nil {
		return a
	}
	return &agg{}
}

// efficiency is events per collector CPU-second.
func (a *agg) efficiency() float64 {
	if a.cpu <= 0 {
		return 0
	}
	return float64(a.events) / a.cpu.Seconds()
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

func renderMarkdown(r *results) string {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	open := r.openMode.name
	w("# Benchmarks\n\n")
	w("The collector's v1 ingestion compared with OTLP/HTTP into the same binary, the cost of the `jobhierarchy`\n")
	w("processor and a persistent queue, the SDK's cost per job, and the processor's memory per open job, measured\n")
	w("side by side in one run of `make bench` (the harness in `internal/benchharness`). **Ratios are the result;\n")
	w("absolute figures are for this machine only** and, on a shared machine, noisy: every cell ran in each of %d\n", r.rounds)
	w("interleaved rounds, and the spread of the ratio over the rounds is shown next to it.\n\n")
	w("Latest run: %s to %s UTC, load average %s at the start and %s at the end.\n\n",
		r.started.Format("2006-01-02 15:04"), r.finished.Format("15:04"), r.machine.loadStart, r.machine.loadEnd)
	w("![v1 and OTLP/HTTP ingestion: events/s and collector CPU per million events](benchmarks.svg)\n\n")

	// Headline.
	w("## Headline: v1 against OTLP/HTTP, same binary, same pipeline\n\n")
	w("Ratios of the `plain` pipeline (receiver → batch → debug) unless named; efficiency is events per collector\n")
	w("CPU-second, so above 1 means v1 costs the collector less CPU per event than the OTLP form of the same event.\n\n")
	w("| load | v1 ÷ OTLP JSON, events/s | v1 ÷ OTLP JSON, efficiency (rounds) | v1 ÷ OTLP protobuf, efficiency (rounds) | jobhierarchy + persistent queue ÷ plain, CPU per v1 event |\n")
	w("|---|---|---|---|---|\n")
	for _, m := range closedModes {
		v1, js, pb := r.cell("plain", "v1", m.name), r.cell("plain", "otlp-json", m.name), r.cell("plain", "otlp-proto", m.name)
		hv1 := r.cell("hierarchy", "v1", m.name)
		w("| %s | %s (%s) | %s (%s) | %s (%s) | %s |\n", m.name,
			f2(ratio(v1.eventsPerSec(), js.eventsPerSec())), roundRange(v1, js, rate),
			f2(ratio(v1.efficiency(), js.efficiency())), roundRange(v1, js, perCPU),
			f2(ratio(v1.efficiency(), pb.efficiency())), roundRange(v1, pb, perCPU),
			f2(ratio(hv1.cpuPerMillion(), v1.cpuPerMillion())))
	}
	w("\n")

	if r.opts.baseline != "" {
		w("### Before and after: v1 on this build and on the baseline build\n\n")
		w("The same v1 cells against a second collector built from `%s` (`-baseline-bin`), plain pipeline,\n", r.baselineDesc)
		w("interleaved with the others. A baseline build comes from `git archive COMMIT | tar -x -C DIR`, then\n")
		w("`go build -trimpath -ldflags \"-s -w\"` in `DIR/cmd/otelcol-wafermonitor` with `CGO_ENABLED=0`.\n\n")
		w("| load | this build ÷ baseline, events/s (rounds) | this build ÷ baseline, efficiency (rounds) | CPU-s per 10^6 events, this build | baseline |\n|---|---|---|---|---|\n")
		for _, m := range closedModes {
			now, base := r.cell("plain", "v1", m.name), r.cell("baseline", "v1", m.name)
			w("| %s | %s (%s) | %s (%s) | %.1f | %.1f |\n", m.name,
				f2(ratio(now.eventsPerSec(), base.eventsPerSec())), roundRange(now, base, rate),
				f2(ratio(now.efficiency(), base.efficiency())), roundRange(now, base, perCPU),
				now.cpuPerMillion(), base.cpuPerMillion())
		}
		w("\n")
	}

	// Targets.
	w("## Targets\n\n")
	w("| target | measured | |\n|---|---|---|\n")
	minEff, minMode := math.Inf(1), ""
	for _, m := range closedModes {
		x := ratio(r.cell("plain", "v1", m.name).efficiency(), r.cell("plain", "otlp-json", m.name).efficiency())
		if !math.IsNaN(x) && x < minEff {
			minEff, minMode = x, m.name
		}
	}
	w("| v1 events/s ≥ OTLP/HTTP JSON for the same jobs at the same CPU | v1 ÷ OTLP JSON events per collector CPU-second: lowest %s (%s) | %s |\n",
		f2(minEff), minMode, yesNo(minEff >= 1))
	for _, p := range pipelines {
		a := r.cell(p.name, "v1", open)
		js := r.cell(p.name, "otlp-json", open)
		w("| p99 of a single-event request < 5 ms at %d req/s (`%s`) | p99 %.2f ms, p50 %.2f ms over %d requests, %d errors (OTLP JSON in the same run: p99 %.2f ms, p50 %.2f ms) | %s |\n",
			r.openMode.rate, p.name, ms(a.pct(0.99)), ms(a.pct(0.5)), a.requests, a.errors, ms(js.pct(0.99)), ms(js.pct(0.5)),
			yesNo(a.requests > 0 && a.errors == 0 && a.pct(0.99) < 5*time.Millisecond))
	}
	if len(r.mem) > 0 {
		worst, worstRolls := 0.0, 0.0
		for _, m := range r.mem {
			worst, worstRolls = math.Max(worst, m.perJob), math.Max(worstRolls, m.perJobRolls)
		}
		w("| processor memory < 1 KiB per open job | at most %.0f B per open job, %.0f B with its roll-up summary (10^3 to 10^5 jobs) | %s |\n",
			worst, worstRolls, yesNo(worstRolls < 1024))
	} else {
		w("| processor memory < 1 KiB per open job | not measured: %v | **not met** |\n", r.memErr)
	}
	for _, p := range pipelines {
		idle := r.idleRSS[p.name]
		w("| collector RSS at idle < 100 MiB (`%s`) | %.1f MiB, started and idle (%.1f MiB idle after the load, heap and caches kept) | %s |\n",
			p.name, float64(idle)/mib, float64(r.idleRSSAfter[p.name])/mib, yesNo(idle > 0 && idle < 100*mib))
	}
	w("\n")

	w("### Where the time goes\n\n")
	w("CPU profiles of the collector (`-profile-dir`, through the `pprof` extension) show, per v1 request, beside\n")
	w("the HTTP server and middleware that both receivers share: decoding the JSON body into maps (a fast path\n")
	w("decodes exactly as `encoding/json`, faster and with about half its allocated bytes; before it, decoding and its garbage\n")
	w("were about a third of the v1 batch path), and three pipeline calls per request where OTLP makes one: the log\n")
	w("records, a span per terminal event, and the receiver's cumulative metrics for the series the request touched\n")
	w("(for a finished event an event count, a completion count and four histograms). Those two extra pipeline\n")
	w("calls are most of the remaining gap on single-event requests; aggregating the metrics over a short interval\n")
	w("instead of per request would close part of it, at the price of later metrics. Latency\n")
	w("percentiles at 1,000 req/s on a machine with a load average above its core count measure mostly the\n")
	w("scheduler: compare them with OTLP's in the same run.\n\n")

	// Full tables.
	w("## Ingestion (this machine only)\n\n")
	w("Closed loop: each client sends its next request when the previous one is answered. Open loop: requests are\n")
	w("sent on a fixed schedule whatever the answers' delay, and latency counts from the time a request was due.\n")
	w("CPU is the collector process's user + system time (`/proc/PID/stat`) during the cell; peak RSS is `VmHWM`,\n")
	w("reset before each cell (`/proc/PID/clear_refs`). Latency is measured by the client, on the same cores.\n\n")
	for _, p := range pipelines {
		w("### `%s`: %s\n\n", p.name, p.title)
		w("| load | protocol | events/s | p50 ms | p99 ms | CPU-s per 10^6 events | peak RSS MiB | requests | errors |\n")
		w("|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range append(append([]mode(nil), closedModes...), r.openMode) {
			for _, pr := range protocols {
				a := r.cell(p.name, pr.name, m.name)
				w("| %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f | %d | %d |\n", m.name, pr.name, a.eventsPerSec(),
					ms(a.pct(0.5)), ms(a.pct(0.99)), a.cpuPerMillion(), float64(a.peakRSS)/mib, a.requests, a.errors)
			}
		}
		w("\n")
	}
	errs := []string{}
	for k, a := range r.cells {
		if a.errors > 0 {
			errs = append(errs, fmt.Sprintf("%s/%s/%s: %s", k.pipeline, k.protocol, k.mode, a.firstErr))
		}
	}
	if len(errs) > 0 {
		w("Errors seen: %s\n\n", strings.Join(errs, "; "))
	}

	// SDK.
	w("## SDK: a job against a bare span (this machine only)\n\n")
	if r.sdkErr != nil {
		w("The SDK benchmarks failed: `%v`\n\n", r.sdkErr)
	} else {
		w("From `go test -bench` in `sdk/jobs` (median of %d runs). `BenchmarkJobVsSpan` starts and ends a job with\n", r.opts.sdkCount)
		w("everything on (span, lifecycle log records, metrics) and a bare span of the same TracerProvider in alternating\n")
		w("chunks, so both see the same load; its ratios are the SDK's per-job overhead.\n\n")
		if j := r.sdk["BenchmarkJobVsSpan"]; j != nil {
			w("| measure | job | bare span | job ÷ span |\n|---|---|---|---|\n")
			w("| CPU of the calling goroutine (ns) | %.0f | %.0f | %s |\n", j.metrics["thread-cpu-ns/job"], j.metrics["thread-cpu-ns/span"], f2(j.metrics["thread-ratio"]))
			w("| CPU of the process, background work included (ns) | %.0f | %.0f | %s |\n", j.metrics["cpu-ns/job"], j.metrics["cpu-ns/span"], f2(j.metrics["cpu-ratio"]))
			w("| wall time (ns) | %.0f | %.0f | %s |\n\n", j.metrics["ns/job"], j.metrics["ns/span"], f2(j.metrics["wall-ratio"]))
		}
		if c := r.sdk["BenchmarkSpanVsSpan"]; c != nil {
			w("The same harness with a bare span on both sides (`BenchmarkSpanVsSpan`), where every ratio should be near 1:\n")
			w("calling goroutine CPU %s, process CPU %s, wall time %s.\n\n", f2(c.metrics["thread-ratio"]), f2(c.metrics["cpu-ratio"]), f2(c.metrics["wall-ratio"]))
		}
		w("| benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|\n")
		for _, name := range []string{"BenchmarkBareSpan", "BenchmarkJob", "BenchmarkSubjob", "BenchmarkJobVsSpan"} {
			if br := r.sdk[name]; br != nil {
				w("| %s | %.0f | %.0f | %.0f |\n", name, br.metrics["ns/op"], br.metrics["B/op"], br.metrics["allocs/op"])
			}
		}
		w("\n")
	}

	// Processor memory.
	w("## Processor memory per open job\n\n")
	w("The `jobhierarchy` processor in the harness's own process (its factory, a logs and a traces pipeline sharing one\n")
	w("state, as in the collector): live heap (`runtime.ReadMemStats` after two GCs) after n jobs sent `started`, then\n")
	w("after each also got one finished subjob span (the job's roll-up summary), divided by n.\n\n")
	w("| open jobs | bytes per open job | bytes per open job with its roll-up summary |\n|---|---|---|\n")
	for _, m := range r.mem {
		w("| %d | %.0f | %.0f |\n", m.jobs, m.perJob, m.perJobRolls)
	}
	if r.memErr != nil {
		w("\nFailed: `%v`\n", r.memErr)
	}
	w("\n")

	// Method.
	w("## What is compared\n\n")
	w("**The same jobs.** Subjobs of 100 per job, each reported by two events: `started` (status `running`) and\n")
	w("`finished` (status `succeeded`, with `cpu_user_s`, `cpu_system_s`, `mem_max_mb`, `duration_s`). Every event has\n")
	w("its own subjob/idempotency-key numbers, so nothing repeats within a run.\n\n")
	w("- **v1**: the canonical JSON event the Python client sends, `POST /v1/event` (single) or a JSON array to\n")
	w("  `POST /v1/events/batch`, to the `wafermonitor` receiver (deduplication on, as in the default configuration).\n")
	w("- **OTLP JSON / protobuf**: per event, the log record the `wafermonitor` receiver makes of it (same resource,\n")
	w("  scope, event name, trace and span IDs from `sdk/ids`, severity, body and attributes from `sdk/semconv`), built\n")
	w("  with pdata and marshalled with `plog.JSONMarshaler` / `plog.ProtoMarshaler`, `POST /v1/logs` to the `otlp`\n")
	w("  receiver; one record per single request, 100 under one resource per batch. `equivalence_test.go` checks\n")
	w("  this against the real collector: the v1, OTLP JSON and OTLP protobuf forms of a started and of a finished\n")
	w("  event come out of it as equal log records, but for the time the collector observed them.\n\n")
	w("The equivalence is one v1 event = one OTLP log record. It favours OTLP: for the same event the v1 path also\n")
	w("builds a span of every terminal event, updates its cumulative metrics and checks the idempotency key, so\n")
	w("its downstream pipeline carries half a span and metric points per event more than the OTLP one.\n\n")
	w("**The same downstream.** One collector per pipeline, both receivers in every pipeline; the exporter is `debug`\n")
	w("at basic verbosity, whose one info line per batch is below the collector's `warn` log level, so downstream\n")
	w("cost is the pipeline's own work. `hierarchy` adds the `jobhierarchy` processor (state in `file_storage`) and a\n")
	w("persistent sending queue (`file_storage`) on the exporter. Each cell runs %s, then %s more so the batch\n",
		r.opts.cell, (300 * time.Millisecond).String())
	w("processor's flush is counted in it; cells run mode by mode, pipeline by pipeline, with the order of the\n")
	w("protocols rotated each round. Load generator and collector share the machine's cores.\n\n")
	if len(r.profiles) > 0 {
		w("CPU profiles of the last round: %s.\n\n", strings.Join(r.profiles, ", "))
	}

	w("## Machine and command\n\n")
	w("| | |\n|---|---|\n")
	w("| CPU | %s, %d logical CPUs (nproc), GOMAXPROCS %d |\n", r.machine.cpuModel, r.machine.nproc, r.machine.gomaxprocs)
	w("| memory | %s |\n", r.machine.memTotal)
	w("| kernel | %s |\n", r.machine.kernel)
	w("| Go | %s |\n", r.machine.goVersion)
	w("| load average (1, 5, 15 min) | %s at the start, %s at the end (the machine is shared) |\n", r.machine.loadStart, r.machine.loadEnd)
	w("| command | `%s` |\n\n", r.command)
	if r.sdkRaw != "" {
		w("<details><summary>SDK benchmark output (benchstat input)</summary>\n\n```\n%s```\n</details>\n", r.sdkRaw)
	}
	return b.String()
}

// renderSVG draws grouped bar charts: events/s and CPU per event of the
// plain pipeline, CPU per event with the jobhierarchy processor. The SVG is
// written by hand: a plotting library would add a dozen modules (fonts, PDF
// and GUI backends) to the repository's shared go.mod and to the
// distribution's module graph, for three bar charts.
func renderSVG(r *results) string {
	type panel struct {
		title string
		value func(a *agg) float64
		pipe  string
	}
	panels := []panel{
		{"events/s, plain (higher is better)", (*agg).eventsPerSec, "plain"},
		{"collector CPU-s per 10^6 events, plain (lower is better)", (*agg).cpuPerMillion, "plain"},
		{"CPU-s per 10^6 events, jobhierarchy + queue", (*agg).cpuPerMillion, "hierarchy"},
	}
	colors := map[string]string{"v1": "#1f77b4", "otlp-json": "#ff7f0e", "otlp-proto": "#2ca02c"}
	short := []string{"1 client", "16 clients", "64 clients", "batch 100"}
	const (
		pw, ph            = 400, 360
		left, top, bottom = 55, 40, 60
		width             = pw * 3
		height            = ph + 40
	)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for pi, p := range panels {
		x0 := pi * pw
		maxV := 0.0
		for _, m := range closedModes {
			for _, pr := range protocols {
				maxV = math.Max(maxV, p.value(r.cell(p.pipe, pr.name, m.name)))
			}
		}
		if maxV == 0 {
			maxV = 1
		}
		maxV = niceCeil(maxV)
		plotH := float64(ph - top - bottom)
		plotW := float64(pw - left - 15)
		fmt.Fprintf(&b, `<text x="%d" y="20" font-size="12" font-weight="bold">%s</text>`+"\n", x0+10, html.EscapeString(p.title))
		for t := 0; t <= 4; t++ {
			v := maxV * float64(t) / 4
			y := float64(top) + plotH - plotH*float64(t)/4
			fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0+left, float64(x0+left)+plotW, y, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0+left-4, y+4, compact(v))
		}
		groupW := plotW / float64(len(closedModes))
		barW := groupW * 0.8 / float64(len(protocols))
		for mi, m := range closedModes {
			gx := float64(x0+left) + groupW*float64(mi) + groupW*0.1
			for k, pr := range protocols {
				v := p.value(r.cell(p.pipe, pr.name, m.name))
				h := plotH * v / maxV
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
					gx+barW*float64(k), float64(top)+plotH-h, barW-1, h, colors[pr.name], pr.name, html.EscapeString(m.name), compact(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", gx+groupW*0.4, float64(top)+plotH+15, short[mi])
		}
	}
	for k, pr := range protocols {
		x := 20 + k*160
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, height-30, colors[pr.name], x+16, height-20, pr.name)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">this machine only: %s, %d CPUs, load %s; %s</text>`+"\n",
		500, height-20, html.EscapeString(r.machine.cpuModel), r.machine.nproc, r.machine.loadStart, r.started.Format("2006-01-02 15:04 UTC"))
	b.WriteString("</svg>\n")
	return b.String()
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}
