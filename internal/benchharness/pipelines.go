package main

import (
	"fmt"
	"time"
)

// pipeline is one collector configuration under test.
type pipeline struct {
	name  string
	title string
	// shipped, when set, is the configuration file the collector runs as
	// shipped (addresses and data directory moved); otherwise the collector
	// runs the plain configuration the harness writes.
	shipped *shippedConfig
	// openJobs tells whether the pipeline runs the open-jobs cells: only
	// the ones that hold job state.
	openJobs bool
	// onlyOpenJobs: the pipeline runs the open-jobs cells and no other.
	onlyOpenJobs bool
	// change is configuration the harness adds to the shipped one, as a
	// further file; none for the default pipeline.
	change string
}

// The pipelines of a run: `default`, the configuration users run; `plain`,
// the least a collector does with the same receivers (batch → debug), as the
// peer that shows what the default pipeline adds; `nostate`, the default
// configuration without the processor's storage, as the peer that shows
// what its state checkpoints cost; with -baseline-bin or -baseline-rev,
// `baseline` runs the default configuration on another build.
const (
	pipeDefault  = "default"
	pipePlain    = "plain"
	pipeNoState  = "nostate"
	pipeBaseline = "baseline"
)

func defaultPipeline(s *shippedConfig) pipeline {
	return pipeline{name: pipeDefault, shipped: s, openJobs: true,
		title: "`otelcol-config.yaml` as shipped: memory_limiter → jobhierarchy (state in file_storage) → csv exporter with a persistent queue; metrics → jobhierarchy → prometheus"}
}

func noStatePipeline(s *shippedConfig) pipeline {
	return pipeline{name: pipeNoState, shipped: s, openJobs: true, onlyOpenJobs: true,
		change: "processors:\n  jobhierarchy:\n    storage: null\n",
		title:  "the shipped configuration with `processors::jobhierarchy::storage: null`: the same state, held in memory only"}
}

func baselinePipeline(s *shippedConfig, desc string) pipeline {
	return pipeline{name: pipeBaseline, shipped: s, openJobs: true,
		title: fmt.Sprintf("`%s` on the baseline build, %s", s.name, desc)}
}

var plainPipeline = pipeline{name: pipePlain, title: "receiver → batch → debug"}

// plainBatchTimeout is the batch processor's default timeout, which the
// plain pipeline keeps.
const plainBatchTimeout = 200 * time.Millisecond

// settleMargin is added to the longest periodic flush of a configuration
// to make a cell's settle time.
const settleMargin = 200 * time.Millisecond

// plainConfig is the plain pipeline: both receivers, the batch processor of
// the default configuration and the debug exporter at basic verbosity, whose
// one info line per batch is below the collector's log level (warn), so the
// exporter costs a call and a level check and the receivers' own work is
// what is measured.
func plainConfig(c *collector) string {
	return fmt.Sprintf(`
extensions:
  pprof:
    endpoint: 127.0.0.1:%[3]d
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
    max_batch_events: 1000
    deduplication:
      enabled: true
      max_keys: 100000
      window: 1h
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[2]d
processors:
  batch:
exporters:
  debug:
    verbosity: basic
service:
  extensions: [pprof]
  pipelines:
    logs:
      receivers: [wafermonitor, otlp]
      processors: [batch]
      exporters: [debug]
    traces:
      receivers: [wafermonitor, otlp]
      processors: [batch]
      exporters: [debug]
    metrics:
      receivers: [wafermonitor, otlp]
      processors: [batch]
      exporters: [debug]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
`, c.v1Port, c.otlpPort, c.pprofPort)
}
