package jobhierarchyprocessor

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// -update rewrites the scenarios' input and expected files from the
// builders below and the processor's current output; review the diff.
var update = flag.Bool("update", false, "rewrite testdata/golden from the scenario builders and current output")

// A step of a scenario: advance the clock, then feed the input (traces or
// logs) or run the periodic check.
type step struct {
	advance time.Duration
	traces  func() ptrace.Traces
	logs    func() plog.Logs
	tick    bool
}

// jobASubjobs are three subjobs of job A: two succeeded, one failed.
func jobASubjobs(spans ptrace.SpanSlice, end time.Time) {
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", status: semconv.StatusSucceeded, end: end,
		metrics: map[string]float64{semconv.MetricKeyDurationS: 10, semconv.MetricKeyCPUUserS: 1, semconv.MetricKeyCPUSystemS: 0.5, semconv.MetricKeyMemMaxMB: 100}})
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA2, parent: jobA, bk: "lot-4711", sk: "wafer-02", status: semconv.StatusSucceeded, end: end,
		metrics: map[string]float64{semconv.MetricKeyDurationS: 20, semconv.MetricKeyCPUUserS: 2, semconv.MetricKeyCPUSystemS: 1, semconv.MetricKeyMemMaxMB: 300}})
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA3, parent: jobA, bk: "lot-4711", sk: "wafer-03", status: semconv.StatusFailed, end: end,
		metrics: map[string]float64{semconv.MetricKeyDurationS: 5, semconv.MetricKeyCPUUserS: 0.5, semconv.MetricKeyCPUSystemS: 0.25, semconv.MetricKeyMemMaxMB: 200}})
}

func jobASpan(spans ptrace.SpanSlice, status string, end time.Time) {
	addSpan(spans, spanSpec{typ: semconv.EntityTypeJob, id: jobA, bk: "lot-4711", status: status, end: end, expected: 4,
		metrics: map[string]float64{semconv.MetricKeyDurationS: 60}})
}

// jobAInOneBatch: job A and its three subjobs arrive in one batch, job first.
func jobAInOneBatch(status string) func() ptrace.Traces {
	return func() ptrace.Traces {
		td, spans := newSpans()
		jobASpan(spans, status, base.Add(time.Minute))
		jobASubjobs(spans, base.Add(50*time.Second))
		return td
	}
}

// jobBSubjobs and jobBSpan: job B's subjob and job arrive in separate batches.
func jobBSubjobs() ptrace.Traces {
	td, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subB1, parent: jobB, bk: "lot-4712", sk: "wafer-01", status: semconv.StatusSucceeded, end: base.Add(30 * time.Second),
		metrics: map[string]float64{semconv.MetricKeyCPUUserS: 3, semconv.MetricKeyMemMaxMB: 50}})
	return td
}

func jobBSpan() ptrace.Traces {
	td, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeJob, id: jobB, bk: "lot-4712", status: semconv.StatusSucceeded, end: base.Add(time.Minute),
		metrics: map[string]float64{semconv.MetricKeyDurationS: 60}})
	return td
}

func lateSubjobOfA() ptrace.Traces {
	td, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA3, parent: jobA, bk: "lot-4711", sk: "wafer-03", status: semconv.StatusFailed, end: base.Add(2 * time.Minute),
		metrics: map[string]float64{semconv.MetricKeyDurationS: 90, semconv.MetricKeyCPUUserS: 4}})
	return td
}

func onlyJobA() ptrace.Traces {
	td, spans := newSpans()
	jobASpan(spans, semconv.StatusSucceeded, base.Add(time.Minute))
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", status: semconv.StatusSucceeded, end: base.Add(50 * time.Second),
		metrics: map[string]float64{semconv.MetricKeyDurationS: 10}})
	return td
}

// Lifecycle records of the watchdog scenario.
func startedAB() plog.Logs {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobA, bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base, expected: 2})
	addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
	return ld
}

func progressA1() plog.Logs {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", kind: semconv.KindProgress, status: semconv.StatusRunning, at: base.Add(20 * time.Minute)})
	return ld
}

func finishedA1() plog.Logs {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: base.Add(30 * time.Minute)})
	return ld
}

func finishedA1Span() ptrace.Traces {
	td, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, bk: "lot-4711", sk: "wafer-01", status: semconv.StatusSucceeded, end: base.Add(30 * time.Minute),
		metrics: map[string]float64{semconv.MetricKeyDurationS: 1800, semconv.MetricKeyCPUUserS: 12}})
	return td
}

var scenarios = []struct {
	name  string
	cfg   func(*Config)
	steps []step
}{
	{
		name: "rollup_any_failed",
		steps: []step{
			{traces: jobAInOneBatch(semconv.StatusSucceeded)},
			{traces: jobBSubjobs},
			{advance: time.Second, traces: jobBSpan},
		},
	},
	{
		name:  "policy_failed_percent_below",
		cfg:   func(c *Config) { c.Outcome.Rule, c.Outcome.FailedPercent = RuleFailedPercent, 50 },
		steps: []step{{traces: jobAInOneBatch(semconv.StatusSucceeded)}},
	},
	{
		name:  "policy_failed_percent_above",
		cfg:   func(c *Config) { c.Outcome.Rule, c.Outcome.FailedPercent = RuleFailedPercent, 20 },
		steps: []step{{traces: jobAInOneBatch(semconv.StatusSucceeded)}},
	},
	{
		name: "policy_missing_as_failed",
		cfg: func(c *Config) {
			c.Outcome.Rule, c.Outcome.FailedPercent, c.Outcome.MissingAsFailed = RuleFailedPercent, 40, true
		},
		steps: []step{{traces: jobAInOneBatch(semconv.StatusSucceeded)}},
	},
	{
		name:  "policy_own_status",
		cfg:   func(c *Config) { c.Outcome.Rule, c.Outcome.SuccessWithFailures = RuleOwnStatus, false },
		steps: []step{{traces: jobAInOneBatch(semconv.StatusSucceeded)}},
	},
	{
		name:  "policy_own_failure_wins",
		steps: []step{{traces: jobAInOneBatch(semconv.StatusFailed)}},
	},
	{
		name: "late_subjob",
		steps: []step{
			{traces: onlyJobA},
			{advance: time.Minute, traces: lateSubjobOfA},
			{advance: time.Second, tick: true},
			{advance: time.Second, tick: true}, // nothing new: no second follow-up
		},
	},
	{
		name: "orphan_subjobs",
		steps: []step{
			{traces: jobBSubjobs},
			{advance: 9 * time.Minute, tick: true}, // not yet
			{advance: time.Minute, tick: true},
			{advance: time.Minute, tick: true}, // reported once
		},
	},
	{
		name: "watchdog",
		steps: []step{
			{logs: startedAB},
			{advance: 15 * time.Minute, tick: true}, // both stalled
			{advance: 5 * time.Minute, logs: progressA1},
			{advance: 10 * time.Minute, logs: finishedA1, traces: finishedA1Span},
			{advance: 24 * time.Hour, tick: true}, // job A given up: timeout event and span with roll-ups
		},
	},
}

func TestGolden(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", sc.name)
			cfg := testConfig()
			if sc.cfg != nil {
				sc.cfg(cfg)
			}
			require.NoError(t, cfg.Validate())
			hs := newHarness(t, cfg, nil)
			if *update {
				require.NoError(t, os.MkdirAll(dir, 0o755))
			}
			for i, st := range sc.steps {
				hs.clock.advance(st.advance)
				if st.logs != nil {
					file := filepath.Join(dir, fmt.Sprintf("step%d_logs.yaml", i+1))
					if *update {
						require.NoError(t, golden.WriteLogs(t, file, st.logs()))
					}
					ld, err := golden.ReadLogs(file)
					require.NoError(t, err)
					hs.consumeLogs(ld)
				}
				if st.traces != nil {
					file := filepath.Join(dir, fmt.Sprintf("step%d_traces.yaml", i+1))
					if *update {
						require.NoError(t, golden.WriteTraces(t, file, st.traces()))
					}
					td, err := golden.ReadTraces(file)
					require.NoError(t, err)
					hs.consumeTraces(td)
				}
				if st.tick {
					hs.tick()
				}
			}
			gotTraces, gotLogs := hs.allTraces(), hs.allLogs()
			tracesFile, logsFile := filepath.Join(dir, "expected_traces.yaml"), filepath.Join(dir, "expected_logs.yaml")
			if *update {
				if gotTraces.SpanCount() > 0 {
					require.NoError(t, golden.WriteTraces(t, tracesFile, gotTraces))
				}
				if gotLogs.LogRecordCount() > 0 {
					require.NoError(t, golden.WriteLogs(t, logsFile, gotLogs))
				}
			}
			if _, err := os.Stat(tracesFile); err == nil {
				want, err := golden.ReadTraces(tracesFile)
				require.NoError(t, err)
				require.NoError(t, ptracetest.CompareTraces(want, gotTraces))
			} else {
				require.Zero(t, gotTraces.SpanCount())
			}
			if _, err := os.Stat(logsFile); err == nil {
				want, err := golden.ReadLogs(logsFile)
				require.NoError(t, err)
				require.NoError(t, plogtest.CompareLogs(want, gotLogs))
			} else {
				require.Zero(t, gotLogs.LogRecordCount())
			}
		})
	}
}
