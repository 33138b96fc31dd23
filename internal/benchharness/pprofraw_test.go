package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pprof's -raw form: names with spaces (generic shapes), inlined frames on
// continuation lines, label lines, several sample types.
const rawProfile = `PeriodType: cpu nanoseconds
Period: 10000000
Samples:
samples/count cpu/nanoseconds
          3   30000000: 1 2 
          1   10000000: 3 2 
		thread:[7]
Locations
     1: 0x10 M=1 go.opentelemetry.io/collector/exporter/exporterhelper/internal/queue.(*persistentQueue[go.shape.interface { BytesSize() int; MergeSplit(context.Context) ([]go.opentelemetry.io/x.Request, error) }]).putInternal go.opentelemetry.io/collector/exporter/exporterhelper@v0.142.0/internal/queue/persistent_queue.go:310:0 s=293
             go.etcd.io/bbolt.(*Tx).Commit go.etcd.io/bbolt@v1.4.3/tx.go:204:0 s=170
     2: 0x20 M=1 runtime.goexit runtime/asm_amd64.s:1700:0 s=1699
     3: 0x30 M=1 runtime.mallocgc runtime/malloc.go:1000:0 s=990
Mappings
1: 0x400000/0x3178000/0x0 /bin/otelcol 2c10 
`

func TestParseRawProfile(t *testing.T) {
	s, err := parseRawProfile([]byte(rawProfile), "cpu")
	require.NoError(t, err)
	require.EqualValues(t, 40000000, s.total)
	queue := "go.opentelemetry.io/collector/exporter/exporterhelper/internal/queue.(*persistentQueue[go.shape.interface { BytesSize() int; MergeSplit(context.Context) ([]go.opentelemetry.io/x.Request, error) }]).putInternal"
	require.Equal(t, []weightedStack{
		{value: 30000000, funcs: []string{queue, "go.etcd.io/bbolt.(*Tx).Commit", "runtime.goexit"}},
		{value: 10000000, funcs: []string{"runtime.mallocgc", "runtime.goexit"}},
	}, s.stacks)

	sh := s.shares()
	require.InDelta(t, 75, sh[queue].flat, 1e-9)
	require.InDelta(t, 75, sh["go.etcd.io/bbolt.(*Tx).Commit"].cum, 1e-9)
	require.InDelta(t, 0, sh["go.etcd.io/bbolt.(*Tx).Commit"].flat, 1e-9)
	require.InDelta(t, 100, sh["runtime.goexit"].cum, 1e-9)
	require.InDelta(t, 75, s.share(regexp.MustCompile(`bbolt`)), 1e-9)
	require.Equal(t, []funcShare{{name: queue, flat: 75, cum: 75}, {name: "runtime.mallocgc", flat: 25, cum: 25}}, topFlat(sh, 2))
	// goexit (a root) is left out; of two functions with the same share
	// (one calls the other), the one listed first (by name) stands for both.
	require.Equal(t, []string{"go.etcd.io/bbolt.(*Tx).Commit", "runtime.mallocgc"}, names(topCum(sh, 5)))

	_, err = parseRawProfile([]byte(rawProfile), "alloc_space")
	require.ErrorContains(t, err, "no alloc_space values")
	_, err = parseRawProfile([]byte("not a profile\n"), "cpu")
	require.Error(t, err)
}

func names(fs []funcShare) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.name)
	}
	return out
}

func TestShortName(t *testing.T) {
	for in, want := range map[string]string{
		"go.etcd.io/bbolt.(*Tx).Commit":                      "bbolt.(*Tx).Commit",
		"runtime.mallocgc":                                   "runtime.mallocgc",
		"net/http.(*conn).serve":                             "http.(*conn).serve",
		"github.com/json-iterator/go.(*Iterator).ReadString": "json-iterator/go.(*Iterator).ReadString",
		"go.opentelemetry.io/collector/exporter/exporterhelper/internal/queue.(*persistentQueue[go.shape.interface { MergeSplit(context.Context) ([]go.opentelemetry.io/x.Request, error) }]).Offer": "queue.(*persistentQueue[…]).Offer",
		"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver.newReceiver.func2":                                                                                                       "wafermonitorreceiver.newReceiver.func2",
	} {
		require.Equal(t, want, shortName(in), in)
	}
}

// A CPU profile the Go runtime writes, read back through the Go toolchain's
// pprof: the function that burned the CPU is in it.
func TestReadCPUProfileOfThisProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, pprof.StartCPUProfile(f))
	burnCPU(300 * time.Millisecond)
	pprof.StopCPUProfile()
	require.NoError(t, f.Close())

	s, err := readCPUProfiles(context.Background(), path, path)
	require.NoError(t, err)
	require.Positive(t, s.total)
	burn := s.shares()["github.com/wafermonitor/wafermonitor/internal/benchharness.burnCPU"]
	require.NotNil(t, burn, "burnCPU is not in the profile")
	require.Positive(t, burn.cum)
	require.Error(t, func() error {
		_, err := readCPUProfiles(context.Background(), filepath.Join(t.TempDir(), "none"))
		return err
	}())
}

// burnCPU spins until this process has used d of CPU time, however long
// that takes on a busy machine.
//
//go:noinline
func burnCPU(d time.Duration) {
	start := processCPU()
	x := 0
	for processCPU()-start < d {
		for i := 0; i < 100000; i++ {
			x += i * i
		}
	}
	sink = x
}

var sink int

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The text form of this process's heap profile carries the runtime.MemStats
// fields the harness reads.
func TestParseMemStatsOfThisProcess(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("heap").WriteTo(&buf, 1))
	m, err := parseMemStats(buf.Bytes())
	require.NoError(t, err)
	require.Positive(t, m.totalAlloc)
	require.Positive(t, m.heapAlloc)
	require.GreaterOrEqual(t, m.totalAlloc, m.heapAlloc)
	require.LessOrEqual(t, m.retained(), m.heapIdle)
	_, err = parseMemStats([]byte("# HeapAlloc = 1\n"))
	require.ErrorContains(t, err, "runtime.MemStats")
}

func TestParsePrometheusText(t *testing.T) {
	text := `# HELP otelcol_exporter_queue_size Current size
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{exporter="csv",otel_signal="logs"} 12
otelcol_exporter_queue_size{exporter="csv",otel_signal="traces"} 3
otelcol_processor_jobhierarchy_evictions_total{table="entities"} 2
otelcol_processor_jobhierarchy_entities_open 7.5e+01
otelcol_processor_jobhierarchy_entities_open_other 1
`
	require.Equal(t, map[string]float64{
		"otelcol_exporter_queue_size":                  15,
		"otelcol_processor_jobhierarchy_evictions":     2,
		"otelcol_processor_jobhierarchy_entities_open": 75,
	}, parsePrometheusText([]byte(text), telemetryNames))
}
