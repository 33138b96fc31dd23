package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// The quick run (-quick) is the harness's smoke test: the whole run, every
// pipeline, protocol and load shape, against the real collector binary,
// with the same binary as the baseline. What it checks holds however slow
// the machine is: every cell measured, the state in place, the profiles
// taken and read, the report written with the default pipeline first.
func TestQuickRunMeasuresEveryCell(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, about two minutes")
	}
	bin := testcollector.Binary(t)
	t.Setenv(envBinary, bin)
	dir := t.TempDir()
	o := defaultOptions()
	o.quick = true
	applyQuick(&o, map[string]bool{})
	o.out, o.svg, o.profileDir = filepath.Join(dir, "benchmarks.md"), filepath.Join(dir, "benchmarks.svg"), filepath.Join(dir, "profiles")
	o.baseline, o.baselineDesc = bin, "the same build"
	o.budget = 8 * time.Minute // a slow machine must not cut the one round short
	res, err := run(o)
	require.NoError(t, err)

	require.Equal(t, []string{pipeDefault, pipePlain, pipeNoState, pipeBaseline}, res.pipelines)
	for _, pipe := range res.pipelines {
		for _, m := range res.modes {
			for _, p := range protocolsFor(res.collectors[pipe].pipeline, m) {
				a := res.cells[cellKey{pipe, p.name, m.name}]
				require.NotNil(t, a, "%s %s %s not measured", pipe, p.name, m.name)
				require.Positive(t, a.requests, "%s %s %s: no request accepted (%s)", pipe, p.name, m.name, a.firstErr)
				require.Positive(t, a.cpu, "%s %s %s: no collector CPU", pipe, p.name, m.name)
				for status := range a.byStatus {
					require.False(t, status >= 400 && status < 500, "%s %s %s: the collector refused the harness's requests as bad: %s", pipe, p.name, m.name, a.firstErr)
				}
				if pipe == pipePlain {
					require.Zero(t, a.errors, "plain %s %s: %s", p.name, m.name, a.firstErr)
					require.Zero(t, a.io.writeBytes, "plain %s %s writes no file", p.name, m.name)
				}
				require.NotEmpty(t, a.cpuProfile, "%s %s %s: no CPU profile", pipe, p.name, m.name)
				require.FileExists(t, a.cpuProfile)
				require.FileExists(t, a.heapProfile)
			}
		}
	}
	// OTLP JSON of the same output, logs and spans, beside logs only in the
	// cells of the efficiency targets (the loop above checks its answers:
	// an error of either of its requests counts in the cell).
	for _, m := range []mode{modeSingle16, modeBatch} {
		require.Positive(t, res.cell(pipeDefault, protoOTLPSpans, m.name).events, "%s %s not measured", protoOTLPSpans, m.name)
	}
	oj := res.cell(pipeDefault, "v1", res.openJobsMode.name)
	require.Positive(t, oj.csvBytes, "the default pipeline's CSV files did not grow")
	require.Positive(t, res.fileWrites(oj, "v1", res.openJobsMode), "the default pipeline wrote nothing")

	for _, pipe := range res.pipelines {
		info := res.collectors[pipe]
		require.Positive(t, info.idleRSS, pipe)
		require.GreaterOrEqual(t, info.peakRSS, info.idleRSS, pipe)
		require.Len(t, info.afterLoad, len(o.idleAfter), pipe)
		for _, a := range info.afterLoad {
			require.NoError(t, a.err, pipe)
			require.Positive(t, a.rss, pipe)
			require.Positive(t, a.mem.heapAlloc, pipe)
		}
		if info.pipeline.openJobs {
			require.Equal(t, 512.0, info.memoryLimitMiB, pipe)
			// Every job and its first subjob reached the processor.
			open := info.stateAfterPrefill["otelcol_processor_jobhierarchy_entities_open"]
			require.GreaterOrEqual(t, open, float64(2*o.openJobs), pipe)
			// Every subjob the cells started they finished, in order: when
			// nothing was refused, the open jobs and their one open subjob
			// each are all that is left open.
			if res.pipelineErrors(pipe) == 0 {
				require.Equal(t, open, info.stateAtEnd["otelcol_processor_jobhierarchy_entities_open"], pipe)
			}
		}
	}
	v1 := res.timeShares[pipeDefault]["v1"]
	require.NotNil(t, v1, res.profileErr)
	require.Positive(t, v1.share(categories[0].re), "the v1 receiver is not in the default pipeline's profiles")

	md, err := os.ReadFile(o.out)
	require.NoError(t, err)
	report := string(md)
	require.True(t, strings.HasPrefix(report, "# Benchmarks\n"))
	targets := strings.Index(report, "## Targets: the `default` pipeline")
	require.Positive(t, targets)
	require.Less(t, targets, strings.Index(report, "### `plain`"), "the default pipeline's rows lead the report")
	for _, want := range []string{"*informational:* v1 ÷ OTLP JSON of the same output (logs and spans), " + modeSingle16.name,
		"*informational:* v1 ÷ OTLP JSON of the same output (logs and spans), " + modeBatch.name, "## Before and after", "## Memory after the load", "## Writes and allocations per event", "## Where the time goes", "| tree measured | ", o.profileDir} {
		require.Contains(t, report, want)
	}
	svg, err := os.ReadFile(o.svg)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(svg), "<svg"))
}
