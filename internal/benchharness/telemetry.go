package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// The collector's own metrics the report quotes: the state the jobhierarchy
// processor holds and what waits in the persistent queues.
var telemetryNames = []string{
	"otelcol_processor_jobhierarchy_entities_open",
	"otelcol_processor_jobhierarchy_job_summaries",
	"otelcol_processor_jobhierarchy_evictions",
	"otelcol_exporter_queue_size",
}

// telemetry reads the collector's own metrics (the shipped configuration's
// Prometheus endpoint), each summed over its series, by name without the
// _total suffix. Nil when the collector serves none.
func (c *collector) telemetry(ctx context.Context) (map[string]float64, error) {
	if c.telemetryPort == 0 {
		return nil, nil
	}
	body, err := httpGet(ctx, fmt.Sprintf("http://localhost:%d/metrics", c.telemetryPort))
	if err != nil {
		return nil, err
	}
	return parsePrometheusText(body, telemetryNames), nil
}

// parsePrometheusText sums the samples of the named metrics in the
// Prometheus text format.
func parsePrometheusText(text []byte, names []string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		name = strings.TrimSuffix(name, "_total")
		if !want[name] {
			continue
		}
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[name] += v
		}
	}
	return out
}
