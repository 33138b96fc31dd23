package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// whereTheTimeGoes: per pipeline, the CPU profiles of the last round's
// cells merged per protocol: shares by part of the collector, and the top
// functions by flat and by cumulative share.
func (w *writer) whereTheTimeGoes(r *results) {
	w.p("## Where the time goes\n\n")
	w.p("CPU profiles of the collector (pprof extension, enabled by the harness's configuration only) over every cell of\n")
	w.p("the last round, merged per pipeline and protocol. A part's share counts every sample whose stack passes through\n")
	w.p("it, so parts overlap (a checkpoint's bbolt writes count in the processor, in bbolt and in file writes). Flat: the\n")
	w.p("function itself; cumulative: with what it calls. Percent of the collector's CPU time.\n\n")
	if r.profileErr != nil {
		w.p("Reading the profiles failed: `%v`\n\n", r.profileErr)
	}
	for _, pipe := range r.pipelines {
		byProto := r.timeShares[pipe]
		if len(byProto) == 0 || r.collectors[pipe].pipeline.onlyOpenJobs {
			continue
		}
		var protos []string
		for _, p := range protocols {
			if byProto[p.name] != nil {
				protos = append(protos, p.name)
			}
		}
		w.p("### `%s`\n\n", pipe)
		w.p("| part of the collector | %s |\n|---|%s\n", strings.Join(protos, " | "), strings.Repeat("---|", len(protos)))
		for _, c := range categories {
			var cells []string
			biggest := 0.0
			for _, p := range protos {
				s := byProto[p].share(c.re)
				biggest = math.Max(biggest, s)
				cells = append(cells, fmt.Sprintf("%.1f", s))
			}
			if biggest >= 0.5 {
				w.p("| %s | %s |\n", c.name, strings.Join(cells, " | "))
			}
		}
		w.p("| CPU profiled, seconds | ")
		for i, p := range protos {
			if i > 0 {
				w.p(" | ")
			}
			w.p("%.1f", time.Duration(byProto[p].total).Seconds())
		}
		w.p(" |\n\n")
		for _, p := range []string{"v1", "otlp-json"} {
			s := byProto[p]
			if s == nil {
				continue
			}
			sh := s.shares()
			flat, cum := topFlat(sh, 10), topCum(sh, 10)
			w.p("Top functions, `%s` %s: by flat share, and by cumulative share (frames every request passes through left out)\n\n", pipe, p)
			w.p("| # | function | flat %% | cum %% | function | cum %% |\n|---|---|---|---|---|---|\n")
			for i := 0; i < max(len(flat), len(cum)); i++ {
				var a, b string
				if i < len(flat) {
					a = fmt.Sprintf("`%s` | %.1f | %.1f", shortName(flat[i].name), flat[i].flat, flat[i].cum)
				} else {
					a = " | | "
				}
				if i < len(cum) {
					b = fmt.Sprintf("`%s` | %.1f", shortName(cum[i].name), cum[i].cum)
				} else {
					b = " | "
				}
				w.p("| %d | %s | %s |\n", i+1, a, b)
			}
			w.p("\n")
		}
	}
}

// ingestion: every cell's figures.
func (w *writer) ingestion(r *results) {
	w.p("## Ingestion, every cell (this machine only)\n\n")
	w.p("Closed loop: each client sends its next request when the previous one is answered. Open loop: requests are\n")
	w.p("sent on a fixed schedule whatever the answers' delay, and latency counts from the time a request was due.\n")
	w.p("CPU is the collector process's user + system time (`/proc/PID/stat`) during the cell and its settle time;\n")
	w.p("peak RSS is `VmHWM`, reset before each cell (`/proc/PID/clear_refs`). Latency is measured by the client, on the\n")
	w.p("same cores. Errors are answers other than 200, by HTTP status. A request of `%s` is its `/v1/logs`\n", protoOTLPSpans)
	w.p("request and, when it has finished subjobs, the `/v1/traces` request of their spans after it, timed together.\n\n")
	for _, pipe := range r.pipelines {
		w.p("### `%s`: %s\n\n", pipe, r.collectors[pipe].pipeline.title)
		w.p("| load | protocol | events/s | p50 ms | p99 ms | CPU-s per 10^6 events | allocated KiB/event | peak RSS MiB | requests | errors |\n")
		w.p("|---|---|---|---|---|---|---|---|---|---|\n")
		r.eachCell(pipe, func(m mode, p string, a *agg) {
			w.p("| %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f | %s | %d | %s |\n", m.name, p, a.eventsPerSec(),
				ms(a.pct(0.5)), ms(a.pct(0.99)), a.cpuPerMillion(), a.perEvent(int64(a.mem.allocBytes))/1024, mibs(a.peakRSS), a.requests, errorsText(a))
		})
		w.p("\n")
	}
	w.errorMessages(r)
}

// errorMessages lists each distinct error message once, with the cells
// that got it.
func (w *writer) errorMessages(r *results) {
	var order []string
	cells := map[string][]string{}
	for _, pipe := range r.pipelines {
		r.eachCell(pipe, func(m mode, p string, a *agg) {
			if a.errors == 0 {
				return
			}
			// "http://127.0.0.1:PORT/v1/event: HTTP 503: …" without the URL.
			msg := a.firstErr
			if i := strings.Index(msg, ": HTTP "); i >= 0 {
				msg = msg[i+2:]
			}
			if cells[msg] == nil {
				order = append(order, msg)
			}
			cells[msg] = append(cells[msg], fmt.Sprintf("`%s` %s %s", pipe, p, m.name))
		})
	}
	if len(order) == 0 {
		return
	}
	w.p("The first error of each cell with errors:\n\n")
	for _, msg := range order {
		w.p("- `%s`: %s\n", msg, strings.Join(cells[msg], "; "))
	}
	w.p("\n")
}

func (w *writer) sdk(r *results) {
	w.p("## SDK: a job against a bare span (this machine only)\n\n")
	if r.sdkErr != nil {
		w.p("The SDK benchmarks did not run: `%v`\n\n", r.sdkErr)
		return
	}
	w.p("From `go test -bench` in `sdk/jobs` (median of %d runs). `BenchmarkJobVsSpan` starts and ends a job with\n", r.opts.sdkCount)
	w.p("everything on (span, lifecycle log records, metrics) and a bare span of the same TracerProvider in alternating\n")
	w.p("chunks, so both see the same load; its ratios are the SDK's per-job overhead.\n\n")
	if j := r.sdk["BenchmarkJobVsSpan"]; j != nil {
		w.p("| measure | job | bare span | job ÷ span |\n|---|---|---|---|\n")
		w.p("| CPU of the calling goroutine (ns) | %.0f | %.0f | %s |\n", j.metrics["thread-cpu-ns/job"], j.metrics["thread-cpu-ns/span"], f2(j.metrics["thread-ratio"]))
		w.p("| CPU of the process, background work included (ns) | %.0f | %.0f | %s |\n", j.metrics["cpu-ns/job"], j.metrics["cpu-ns/span"], f2(j.metrics["cpu-ratio"]))
		w.p("| wall time (ns) | %.0f | %.0f | %s |\n\n", j.metrics["ns/job"], j.metrics["ns/span"], f2(j.metrics["wall-ratio"]))
	}
	if c := r.sdk["BenchmarkSpanVsSpan"]; c != nil {
		w.p("The same harness with a bare span on both sides (`BenchmarkSpanVsSpan`), where every ratio should be near 1:\n")
		w.p("calling goroutine CPU %s, process CPU %s, wall time %s.\n\n", f2(c.metrics["thread-ratio"]), f2(c.metrics["cpu-ratio"]), f2(c.metrics["wall-ratio"]))
	}
	w.p("| benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|\n")
	for _, name := range []string{"BenchmarkBareSpan", "BenchmarkJob", "BenchmarkSubjob", "BenchmarkJobVsSpan"} {
		if br := r.sdk[name]; br != nil {
			w.p("| %s | %.0f | %.0f | %.0f |\n", name, br.metrics["ns/op"], br.metrics["B/op"], br.metrics["allocs/op"])
		}
	}
	w.p("\n")
}

func (w *writer) processorMemory(r *results) {
	w.p("## Processor memory per open job\n\n")
	w.p("The `jobhierarchy` processor in the harness's own process (its factory, a logs and a traces pipeline sharing one\n")
	w.p("state, as in the collector): live heap (`runtime.ReadMemStats` after two GCs) after n jobs sent `started`, then\n")
	w.p("after each also got one finished subjob span (the job's roll-up summary), divided by n.\n\n")
	w.p("| open jobs | bytes per open job | bytes per open job with its roll-up summary |\n|---|---|---|\n")
	for _, m := range r.mem {
		w.p("| %d | %.0f | %.0f |\n", m.jobs, m.perJob, m.perJobRolls)
	}
	if r.memErr != nil {
		w.p("\nFailed: `%v`\n", r.memErr)
	}
	w.p("\n")
}
