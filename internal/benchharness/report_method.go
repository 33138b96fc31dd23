package main

import "strings"

func (w *writer) method(r *results) {
	w.p("## What is compared\n\n")
	w.p("**The same jobs.** Subjobs of 100 per job, each reported by two events: `started` (status `running`) and\n")
	w.p("`finished` (status `succeeded`, with `cpu_user_s`, `cpu_system_s`, `mem_max_mb`, `duration_s`). Every event has\n")
	w.p("its own subjob/idempotency-key numbers, so nothing repeats within a run. In most cells the jobs come one after\n")
	w.p("another, each subjob's `finished` right after its `started`.\n\n")
	var stateful []string
	for _, pipe := range r.pipelines {
		if r.collectors[pipe].pipeline.openJobs {
			stateful = append(stateful, "`"+pipe+"`")
		}
	}
	w.p("**Open jobs.** Before the rounds, the %s collectors are sent `started` for %d jobs\n", strings.Join(stateful, ", "), r.opts.openJobs)
	w.p("(`expected_subjobs` 100) and for one subjob of each, so their processor holds them open, as on a site where many\n")
	w.p("lots run at once, for the whole run. The open-jobs cells (*%s*) report subjobs of all these\n", r.openJobsMode.name)
	w.p("jobs in turn: each event is about another job; a job's next subjob starts, then its previous one finishes, so every\n")
	w.p("job keeps one open subjob and its roll-up grows.\n\n")
	w.p("- **v1**: the canonical JSON event the Python client sends, `POST /v1/event` (single) or a JSON array to\n")
	w.p("  `POST /v1/events/batch`, to the `wafermonitor` receiver.\n")
	w.p("- **OTLP JSON / protobuf**: per event, the log record the `wafermonitor` receiver makes of it (same resource,\n")
	w.p("  scope, event name, trace and span IDs from `sdk/ids`, severity, body and attributes from `sdk/semconv`), built\n")
	w.p("  with pdata and marshalled with `plog.JSONMarshaler` / `plog.ProtoMarshaler`, `POST /v1/logs` to the `otlp`\n")
	w.p("  receiver; one record per single request, 100 under one resource per batch. `equivalence_test.go` checks\n")
	w.p("  this against the real collector: the v1, OTLP JSON and OTLP protobuf forms of a started and of a finished\n")
	w.p("  event come out of it as equal log records, but for the time the collector observed them.\n\n")
	w.p("- **OTLP JSON of the same output (logs and spans)**, `otlp-json-spans`: the same request as OTLP JSON, then, by\n")
	w.p("  the same client once it is answered, the spans the `wafermonitor` receiver makes of the request's finished\n")
	w.p("  subjobs (same resource, scope, IDs, name, kind, start and end, attributes and status), marshalled with\n")
	w.p("  `ptrace.JSONMarshaler`, `POST /v1/traces` (OTLP/HTTP has one endpoint per signal): half a span per event, as a\n")
	w.p("  site's OTLP client (the SDK) exports a span when a subjob ends. An event counts once whatever the number of\n")
	w.p("  requests; the two requests are one request of the tables, timed together. `equivalence_spans_test.go` checks\n")
	w.p("  against the real collector that the v1 receiver makes the same spans of the same events, every field\n")
	w.p("  compared (it sets none from the time it received them), and none of a started event. Measured on the\n")
	w.p("  `default` pipeline in the loads of the efficiency targets.\n\n")
	w.p("The equivalence of the efficiency targets is one v1 event = one OTLP log record. It favours OTLP: for the same\n")
	w.p("event the v1 path also builds a span of every terminal event, updates its cumulative metrics and checks the\n")
	w.p("idempotency key, so its downstream pipeline carries half a span and metric points per event more than the OTLP\n")
	w.p("one. Against the same output (logs and spans), v1 still does the metrics and the idempotency check more.\n\n")
	w.p("**The pipelines.** One collector per pipeline, both receivers in every one.\n\n")
	movedListed := false
	for _, pipe := range r.pipelines {
		info := r.collectors[pipe]
		w.p("- `%s`: %s", pipe, info.pipeline.title)
		if s := info.pipeline.shipped; s != nil && movedListed {
			w.p("; addresses and data directory moved, and pprof added, as for `%s`", pipeDefault)
		} else if s != nil {
			movedListed = true
			w.p(". Set: `%s` (free loopback ports, a fresh data directory); every other setting at its default. A second\n", strings.Join(s.moved(), "`, `"))
			w.p("  configuration file adds the `pprof` extension on a loopback port, for the profiles")
		}
		w.p(".\n")
	}
	w.p("\n**The cells.** Each cell's load runs %s; its CPU, disk and allocation figures go on for a settle time after it\n", r.opts.cell)
	w.p("(the configuration's longest batch timeout, queue flush timeout or processor check interval, plus 200 ms), so\n")
	w.p("that the work the collector defers is counted in the cell that caused it. Cells run mode by mode, collector by\n")
	w.p("collector, with the order of the protocols rotated each round; the last round also takes a CPU profile over each\n")
	w.p("cell's load and a heap profile after it (the profiler's cost falls on every cell of that round alike). A warm-up\n")
	w.p("of 0.5 s per protocol at 16 clients and in batches comes first, not measured. Load generator and collectors\n")
	w.p("share the machine's cores.\n\n")
}

func (w *writer) machineTable(r *results) {
	w.p("## Machine and command\n\n")
	w.p("| | |\n|---|---|\n")
	w.p("| CPU | %s, %d logical CPUs (nproc), GOMAXPROCS %d |\n", r.machine.cpuModel, r.machine.nproc, r.machine.gomaxprocs)
	w.p("| memory | %s |\n", r.machine.memTotal)
	w.p("| kernel | %s |\n", r.machine.kernel)
	w.p("| Go | %s |\n", r.machine.goVersion)
	w.p("| tree measured | %s |\n", r.machine.commit)
	w.p("| load average (1, 5, 15 min) | %s at the start, %s at the end (the machine is shared) |\n", r.machine.loadStart, r.machine.loadEnd)
	w.p("| command | `%s` |\n\n", r.command)
	if r.sdkRaw != "" {
		w.p("<details><summary>SDK benchmark output (benchstat input)</summary>\n\n```\n%s```\n</details>\n", r.sdkRaw)
	}
}
