package wafermonitorreceiver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// peerLoad is the clients' process, seen from the benchmark.
type peerLoad struct {
	cmds    io.Writer
	answers *bufio.Reader
}

func startPeerLoad(b *testing.B, v1Addr, otlpAddr string) *peerLoad {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerClientsEnv+"="+v1Addr+","+otlpAddr)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = stdin.Close()
		require.NoError(b, cmd.Wait())
	})
	return &peerLoad{cmds: stdin, answers: bufio.NewReader(stdout)}
}

// peerSide is what one receiver's requests cost the benchmark's process.
type peerSide struct {
	name               string
	requests           int
	wall, cpu          time.Duration
	allocs, allocBytes uint64
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phase has the clients send n requests to the side's receiver, and adds
// the wall time, the CPU time and the allocations of the benchmark's
// process meanwhile to the side's totals.
func (l *peerLoad) phase(b *testing.B, s *peerSide, n int) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu, start := processCPU(), time.Now()
	_, err := fmt.Fprintf(l.cmds, "%s %d\n", s.name, n)
	require.NoError(b, err)
	answer, err := l.answers.ReadString('\n')
	require.NoError(b, err)
	require.Equal(b, "ok\n", answer)
	s.wall += time.Since(start)
	s.cpu += processCPU() - cpu
	runtime.ReadMemStats(&after)
	s.allocs += after.Mallocs - before.Mallocs
	s.allocBytes += after.TotalAlloc - before.TotalAlloc
	s.requests += n
}

func (s *peerSide) report(b *testing.B) {
	n := float64(s.requests)
	b.ReportMetric(float64(s.wall.Nanoseconds())/n, s.name+"-ns/op")
	b.ReportMetric(float64(s.cpu.Nanoseconds())/n, s.name+"-cpu-ns/op")
	b.ReportMetric(float64(s.allocs)/n, s.name+"-allocs/op")
	b.ReportMetric(float64(s.allocBytes)/n, s.name+"-B/op")
}

// peerSettings are the settings of the shipped configuration's telemetry:
// metrics recorded (level normal, read when scraped) but for the HTTP
// server's own, which the collector drops below level detailed; the
// collector's own spans not (traces level none).
func peerSettings(typ component.Type) receiver.Settings {
	set := receivertest.NewNopSettings(typ)
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Scope: instrumentation.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"}},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})))
	return set
}

// startLabeled starts c with the profiler label side=name, which the
// goroutines it starts (its server's, and each connection's) inherit: a
// CPU profile of the benchmark tells the sides apart (pprof -tagfocus
// side=v1).
func startLabeled(b *testing.B, name string, c component.Component) {
	pprof.Do(context.Background(), pprof.Labels("side", name), func(ctx context.Context) {
		require.NoError(b, c.Start(ctx, componenttest.NewNopHost()))
	})
	b.Cleanup(func() { require.NoError(b, c.Shutdown(context.Background())) })
}

func startPeerV1(b *testing.B) string {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(b))
	f := NewFactory()
	set := peerSettings(metadata.Type)
	ctx := context.Background()
	logs, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	traces, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	metrics, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	for _, c := range []component.Component{logs, traces, metrics} {
		startLabeled(b, "v1", c)
	}
	return cfg.Endpoint
}

func startPeerOTLP(b *testing.B) string {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.HTTP.GetOrInsertDefault().ServerConfig.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(b))
	ctx := context.Background()
	logs, err := f.CreateLogs(ctx, peerSettings(f.Type()), cfg, consumertest.NewNop())
	require.NoError(b, err)
	startLabeled(b, "otlp", logs)
	return cfg.HTTP.Get().ServerConfig.Endpoint
}

// BenchmarkSingleEventV1AgainstOTLPJSON compares, in one run, the v1
// receiver and the collector's OTLP receiver, each started by its factory
// on loopback with the shipped configuration's telemetry and consumertest
// sinks, answering 16 keep-alive clients (in a process of their own) that
// send one event per request: v1 its event (deduplicated, made into a log
// record, a span when it is terminal, and counted in the job metrics),
// OTLP/HTTP JSON the log record the v1 receiver makes of the same event, as
// the benchmark harness sends them. One op is one request to each; the
// sides take turns by rounds of 1,024 requests. Reported per request of
// each side: wall time, the receivers' process's CPU time, allocations and
// bytes allocated; and v1/otlp-cpu, the ratio of their CPU times (below 1:
// v1 costs less per event).
func BenchmarkSingleEventV1AgainstOTLPJSON(b *testing.B) {
	const round = 1024
	load := startPeerLoad(b, startPeerV1(b), startPeerOTLP(b))
	v1, otlp := &peerSide{name: "v1"}, &peerSide{name: "otlp"}
	// Warm both (connections, pools, first series) outside the figures.
	load.phase(b, v1, 64)
	load.phase(b, otlp, 64)
	*v1, *otlp = peerSide{name: "v1"}, peerSide{name: "otlp"}
	b.ResetTimer()
	for done, turn := 0, 0; done < b.N; turn++ {
		n := min(round, b.N-done)
		first, second := v1, otlp
		if turn%2 == 1 {
			first, second = otlp, v1
		}
		load.phase(b, first, n)
		load.phase(b, second, n)
		done += n
	}
	b.StopTimer()
	v1.report(b)
	otlp.report(b)
	b.ReportMetric(float64(v1.cpu)/float64(otlp.cpu), "v1/otlp-cpu")
}
