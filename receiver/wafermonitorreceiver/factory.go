package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

const (
	defaultEndpoint       = "localhost:17000"
	defaultMaxBatchEvents = 10000
	defaultDedupMaxKeys   = 100000
	defaultDedupWindow    = 24 * time.Hour
	defaultRetryAfter     = 5 * time.Second
	// defaultMetricsInterval is the batch processor's default timeout of
	// the shipped configuration before: the job metrics are as fresh as
	// they were when they went out with every request.
	defaultMetricsInterval = time.Second

	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second

	// defaultMaxBytesInFlight holds about 100,000 single events of the
	// Python client (600 bytes each) or three bodies of the largest allowed
	// size (20 MiB), well within the default memory_limiter's 512 MiB.
	defaultMaxBytesInFlight = 64 << 20
	// defaultMaxWait is below the old Python SDK's 5 s timeout: a request
	// that cannot be served in time is answered 503 before the client gives
	// up on it.
	defaultMaxWait = 4 * time.Second
)

// defaultCompressionAlgorithms are confighttp's defaults without "snappy":
// a snappy block body is decoded whole, to the size its header declares (up
// to 4 GiB), before max_request_body_size or admission can act. The framed
// format, x-snappy-framed, is decoded as it is read and stays.
var defaultCompressionAlgorithms = []string{"", "gzip", "zstd", "zlib", "deflate", "lz4", "x-snappy-framed"}

// NewFactory returns the factory of the wafermonitor receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithTraces(createTraces, metadata.TracesStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.Endpoint = defaultEndpoint
	// A client that sends its headers or body slowly holds a connection and
	// the bytes it sent: it is cut off after these (confighttp sets no read timeout).
	server.ReadHeaderTimeout = defaultReadHeaderTimeout
	server.ReadTimeout = defaultReadTimeout
	server.CompressionAlgorithms = append([]string(nil), defaultCompressionAlgorithms...)
	return &Config{
		ServerConfig:   server,
		MaxBatchEvents: defaultMaxBatchEvents,
		Deduplication: DeduplicationConfig{
			Enabled: true,
			MaxKeys: defaultDedupMaxKeys,
			Window:  defaultDedupWindow,
		},
		Admission: AdmissionConfig{
			MaxBytesInFlight: defaultMaxBytesInFlight,
			MaxWait:          defaultMaxWait,
		},
		MetricsInterval: defaultMetricsInterval,
		RetryAfter:      defaultRetryAfter,
	}
}

// One receiver serves every pipeline that names the same configuration, so
// a single listener feeds logs, traces and metrics. It listens only while
// all those pipelines run: from the last one's Start to the first one's
// Shutdown (sharedcomponent.WhileAllRun), so no request is answered with an
// error because one pipeline is not up yet or no longer.
var receivers = sharedcomponent.NewMap[*Config, *wafermonitorReceiver](sharedcomponent.WhileAllRun)

func loadOrStore(cfg *Config, set receiver.Settings) (*sharedcomponent.Component[*wafermonitorReceiver], error) {
	return receivers.LoadOrStore(cfg, func() (*wafermonitorReceiver, error) { return newReceiver(cfg, set) })
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().nextLogs = next
	return r, nil
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().nextTraces = next
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.Unwrap().nextMetrics = next
	return r, nil
}
