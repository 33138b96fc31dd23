package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
)

const (
	defaultTimeout           = 30 * time.Second
	defaultMaxBatchEvents    = 100
	defaultSignatureHeader   = "X-Wafermonitor-Signature"
	defaultTimestampHeader   = "X-Wafermonitor-Timestamp"
	defaultIdempotencyHeader = "Idempotency-Key"
	defaultCloudEventsSource = "/wafermonitor"
	defaultCloudEventsPrefix = "com.wafermonitor"
	defaultDeadLetterSizeMB  = 100
	defaultDeadLetterBackups = 5
	// defaultLocalAPIMaxTimeSkew leaves half of the Local API's 10 minutes
	// for the difference between the two hosts' clocks and for the time an
	// attempt takes.
	defaultLocalAPIMaxTimeSkew = 5 * time.Minute
)

// NewFactory returns the factory of the webhook exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	return &Config{
		ClientConfig:      client,
		QueueConfig:       configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:       configretry.NewDefaultBackOffConfig(),
		Format:            FormatV1,
		Mode:              ModeSingle,
		BatchEnvelope:     EnvelopeArray,
		MaxBatchEvents:    defaultMaxBatchEvents,
		Method:            http.MethodPost,
		IdempotencyHeader: defaultIdempotencyHeader,
		Signing: SigningConfig{
			SignatureHeader: defaultSignatureHeader,
			TimestampHeader: defaultTimestampHeader,
		},
		CloudEvents: CloudEventsConfig{
			Source:     defaultCloudEventsSource,
			TypePrefix: defaultCloudEventsPrefix,
		},
		LocalAPI: LocalAPIConfig{MaxTimeSkew: defaultLocalAPIMaxTimeSkew},
		DeadLetter: DeadLetterConfig{
			MaxSizeMB:  defaultDeadLetterSizeMB,
			MaxBackups: defaultDeadLetterBackups,
		},
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	if c.Format == FormatRecord {
		return nil, fmt.Errorf("format %q is made of finished entities: use it in a traces pipeline; a logs pipeline takes %q, %q or %q", FormatRecord, FormatV1, FormatLocalAPI, FormatCloudEvents)
	}
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	e.health = exporterhealth.NewTracker()
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, helperOptions(c, e)...)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	if c.Format == FormatV1 || c.Format == FormatLocalAPI {
		return nil, fmt.Errorf("format %q is made of lifecycle events: use it in a logs pipeline; a traces pipeline takes %q or %q", c.Format, FormatRecord, FormatCloudEvents)
	}
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	e.health = exporterhealth.NewTracker()
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, helperOptions(c, e)...)
}

func helperOptions(c *Config, e *webhookExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	}
}
