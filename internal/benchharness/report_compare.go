package main

import (
	"fmt"
	"strings"
)

// headline: v1 against OTLP of the same events, per pipeline and load, and
// what the default pipeline costs over the plain one.
func (w *writer) headline(r *results) {
	w.p("## v1 against OTLP/HTTP, same binary, same pipeline\n\n")
	w.p("Efficiency is events per collector CPU-second: above 1, v1 costs the collector less CPU per event than the\n")
	w.p("OTLP form of the same event. OTLP JSON and protobuf carry each event's log record only; *same output* is OTLP JSON\n")
	w.p("of the log records and of the spans of the finished subjobs, as the v1 receiver makes them (measured in the\n")
	w.p("target loads only). The last column is what the shipped pipeline costs over the plain one.\n\n")
	w.p("| load | `default`: v1 ÷ OTLP JSON (rounds) | `default`: v1 ÷ OTLP protobuf | `default`: v1 ÷ OTLP JSON of the same output, logs and spans (rounds) | `plain`: v1 ÷ OTLP JSON (rounds) | `plain`: v1 ÷ OTLP protobuf | `default` ÷ `plain`, CPU per v1 event |\n")
	w.p("|---|---|---|---|---|---|---|\n")
	for _, m := range append(append([]mode(nil), closedModes...), r.openMode) {
		row := []string{m.name}
		for _, pipe := range []string{pipeDefault, pipePlain} {
			v1, js, pb := r.cell(pipe, protoV1, m.name), r.cell(pipe, protoOTLPJSON, m.name), r.cell(pipe, "otlp-proto", m.name)
			row = append(row, fmt.Sprintf("%s (%s)", f2(ratio(v1.efficiency(), js.efficiency())), roundRange(v1, js, perCPU)),
				f2(ratio(v1.efficiency(), pb.efficiency())))
			if pipe == pipeDefault {
				same, text := r.cell(pipe, protoOTLPSpans, m.name), "–"
				if same.events > 0 {
					text = fmt.Sprintf("%s (%s)", f2(ratio(v1.efficiency(), same.efficiency())), roundRange(v1, same, perCPU))
				}
				row = append(row, text)
			}
		}
		row = append(row, f2(ratio(r.cell(pipeDefault, "v1", m.name).cpuPerMillion(), r.cell(pipePlain, "v1", m.name).cpuPerMillion())))
		w.p("| %s |\n", strings.Join(row, " | "))
	}
	w.p("\n")
}

// beforeAfter compares the default pipeline on this build and on the
// baseline build, cell by cell of the targets.
func (w *writer) beforeAfter(r *results) {
	if !r.has(pipeBaseline) {
		return
	}
	w.p("## Before and after: this build and the baseline build\n\n")
	w.p("The default pipeline on this build and on `%s` (`-baseline-bin`/`-baseline-rev`, running `%s`),\n",
		r.baselineDesc, r.collectors[pipeBaseline].pipeline.shipped.name)
	w.p("interleaved in the same rounds. `-baseline-rev REV` builds it from `git archive REV` with the flags of `make build`.\n\n")
	w.p("| measure | this build | baseline | this ÷ baseline |\n|---|---|---|---|\n")
	row := func(name string, now, base float64, format string) {
		w.p("| %s | "+format+" | "+format+" | %s |\n", name, now, base, f2(ratio(now, base)))
	}
	for _, m := range []mode{modeSingle16, modeBatch} {
		now := func(p string) *agg { return r.cell(pipeDefault, p, m.name) }
		base := func(p string) *agg { return r.cell(pipeBaseline, p, m.name) }
		row("v1 ÷ OTLP JSON, events per CPU-second, "+m.name, ratio(now("v1").efficiency(), now("otlp-json").efficiency()),
			ratio(base("v1").efficiency(), base("otlp-json").efficiency()), "%.2f")
		row("v1 events/s, "+m.name, now("v1").eventsPerSec(), base("v1").eventsPerSec(), "%.0f")
		row("v1 CPU-s per 10^6 events, "+m.name, now("v1").cpuPerMillion(), base("v1").cpuPerMillion(), "%.1f")
	}
	for _, m := range []mode{r.openMode, r.openJobsMode} {
		now, base := r.cell(pipeDefault, "v1", m.name), r.cell(pipeBaseline, "v1", m.name)
		row("v1 p99 ms, "+m.name, ms(now.pct(0.99)), ms(base.pct(0.99)), "%.2f")
		row("v1 bytes written per event, "+m.name, r.fileWrites(now, "v1", m), r.fileWrites(base, "v1", m), "%.0f")
	}
	nowInfo, baseInfo := r.collectors[pipeDefault], r.collectors[pipeBaseline]
	if n, b := len(nowInfo.afterLoad), len(baseInfo.afterLoad); n > 0 && b > 0 {
		last := nowInfo.afterLoad[n-1]
		row(fmt.Sprintf("RSS MiB %s after the load", last.at), float64(last.rss)/mib, float64(baseInfo.afterLoad[b-1].rss)/mib, "%.1f")
	}
	row("peak RSS MiB", float64(nowInfo.peakRSS)/mib, float64(baseInfo.peakRSS)/mib, "%.1f")
	w.p("| requests refused | %d | %d | |\n\n", r.pipelineErrors(pipeDefault), r.pipelineErrors(pipeBaseline))
}

// memoryAfterLoad: each collector's RSS and Go heap when idle before the
// load, at its peak, and at the -idle-after times after the last cell.
func (w *writer) memoryAfterLoad(r *results) {
	w.p("## Memory after the load\n\n")
	w.p("RSS (`VmRSS`) of each collector started and idle, at its peak over the run (`VmHWM`), and at times after the\n")
	w.p("last cell: with the part that maps files (`RssFile`: the collector's own code, about `plain`'s figure, and the\n")
	w.p("databases bbolt maps), the Go heap in use (`HeapAlloc`) and what the Go runtime holds unused without returning\n")
	w.p("it to the system (`HeapIdle − HeapReleased`), from the collector's `runtime.MemStats` (pprof). MiB.\n\n")
	w.p("| pipeline | idle, before the load | peak | memory_limiter limit |")
	for _, at := range r.opts.idleAfter {
		w.p(" %s after: RSS (files; heap, held unused) |", at)
	}
	w.p("\n|---|---|---|---|%s\n", strings.Repeat("---|", len(r.opts.idleAfter)))
	for _, pipe := range r.pipelines {
		info := r.collectors[pipe]
		limit := "none"
		if info.memoryLimitMiB > 0 {
			limit = fmt.Sprintf("%.0f", info.memoryLimitMiB)
		}
		w.p("| `%s` | %s | %s | %s |", pipe, mibs(info.idleRSS), mibs(info.peakRSS), limit)
		for _, a := range info.afterLoad {
			if a.err != nil {
				w.p(" not read: %v |", a.err)
				continue
			}
			w.p(" %s (%s; %s, %s) |", mibs(a.rss), mibs(a.rssFile), mibs(a.mem.heapAlloc), mibs(a.mem.retained()))
		}
		w.p("\n")
	}
	w.p("\n")
}

// diskWrites: what the stateful pipelines write per event, and the state
// their processor held.
func (w *writer) diskWrites(r *results) {
	w.p("## Writes and allocations per event\n\n")
	w.p("*Written* is what the collector passed to write calls (`wchar` of its `/proc/PID/io`) during the cell, less\n")
	w.p("its HTTP answers (the `plain` pipeline's `wchar` for the same protocol and load: it writes no file); the CSV\n")
	w.p("files' share is their growth (less in a cell where a file was rotated and compressed), and the rest goes to\n")
	w.p("`file_storage` (bbolt): the persistent queues and the processor's state. The processor's state checkpoints\n")
	w.p("alone are `default` less `nostate` in the open-jobs cells (*Targets*). *To disk* is `write_bytes`: pages of the\n")
	w.p("page cache the process dirtied, where a page written again before the kernel wrote it back counts once, so it\n")
	w.p("is far below what is written when the same file pages are rewritten, and within a cell it depends on when the\n")
	w.p("kernel writes back. Allocation is the Go runtime's `TotalAlloc` over the cell. Per accepted event, all rounds.\n")
	w.p("The `plain` pipeline is not sent `%s`: its cells' HTTP answers are taken off as OTLP JSON's, and its\n", protoOTLPSpans)
	w.p("answers to `/v1/traces` (one per request of spans) stay in.\n\n")
	for _, pipe := range r.pipelines {
		info := r.collectors[pipe]
		if !info.pipeline.openJobs {
			continue
		}
		w.p("### `%s`\n\n", pipe)
		w.p("| load | protocol | written B/event | CSV files | file_storage (queues, state) | to disk B/event | allocated KiB/event | GC cycles |\n")
		w.p("|---|---|---|---|---|---|---|---|\n")
		r.eachCell(pipe, func(m mode, p string, a *agg) {
			written := r.fileWrites(a, p, m)
			w.p("| %s | %s | %.0f | %.0f | %.0f | %.0f | %.1f | %d |\n", m.name, p, written, a.perEvent(a.csvBytes),
				written-a.perEvent(a.csvBytes), a.perEvent(a.io.writeBytes), a.perEvent(int64(a.mem.allocBytes))/1024, a.mem.gcs)
		})
		w.p("\n")
		w.p("State the collector held (its own metrics): %s after the %d open jobs were sent; %s after the last cell.\n\n",
			stateText(info.stateAfterPrefill), r.opts.openJobs, stateText(info.stateAtEnd))
	}
}

func stateText(m map[string]float64) string {
	if m == nil {
		return "not read"
	}
	return fmt.Sprintf("%.0f open jobs and subjobs, %.0f job summaries, %.0f evicted, %.0f items in the sending queues",
		m["otelcol_processor_jobhierarchy_entities_open"], m["otelcol_processor_jobhierarchy_job_summaries"],
		m["otelcol_processor_jobhierarchy_evictions"], m["otelcol_exporter_queue_size"])
}
