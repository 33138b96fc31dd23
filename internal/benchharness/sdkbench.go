package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sdkBenchmarks are the SDK's Go benchmarks the report quotes.
const sdkBenchmarks = `^Benchmark(JobVsSpan|SpanVsSpan|BareSpan|Job|Subjob)$`

// benchResult is the median of each metric of one Go benchmark over its runs.
type benchResult struct {
	name    string
	metrics map[string]float64 // unit -> median value
	runs    int
}

// runSDKBenchmarks runs the SDK's benchmarks with `go test -bench` and
// returns them by name, with the raw output (benchstat's input format).
func runSDKBenchmarks(ctx context.Context, root string, count int, benchtime string) (map[string]*benchResult, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", sdkBenchmarks, "-benchmem",
		"-count", strconv.Itoa(count), "-benchtime", benchtime, "-timeout", "4m", "./jobs")
	cmd.Dir = filepath.Join(root, "sdk")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, out.String(), fmt.Errorf("go test -bench in sdk: %w: %s", err, out.String())
	}
	return parseBench(out.String()), out.String(), nil
}

// parseBench reads Go benchmark lines ("BenchmarkX-2  N  v unit  v unit …").
func parseBench(out string) map[string]*benchResult {
	values := map[string]map[string][]float64{}
	runs := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		if values[name] == nil {
			values[name] = map[string][]float64{}
		}
		runs[name]++
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			values[name][f[i+1]] = append(values[name][f[i+1]], v)
		}
	}
	res := map[string]*benchResult{}
	for name, units := range values {
		r := &benchResult{name: name, metrics: map[string]float64{}, runs: runs[name]}
		for unit, vs := range units {
			r.metrics[unit] = median(vs)
		}
		res[name] = r
	}
	return res
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
