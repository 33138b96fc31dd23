package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
)

const (
	defaultEventsPath   = "./data/wafer_events_%Y%m%d.csv"
	defaultEntitiesPath = "./data/wafer_entities_%Y%m%d.csv"
	defaultMaxMegabytes = 100
	// Every batch is written before it is acknowledged: a row that waited in
	// memory after the queue let go of it would be lost to a crash.
	defaultFlushInterval = 0
	defaultDirPerm       = "0750"
	// Rows more than a week older or a day newer than now go to the
	// out_of_range file: a client's spool replayed after days away still
	// lands in its days' files, a clock that is wrong or a flood of odd
	// dates opens no more than about ten daily files.
	defaultEventPast   = 7 * 24 * time.Hour
	defaultEventFuture = 24 * time.Hour
	defaultFilePerm    = "0640"
)

// NewFactory returns the factory of the csv exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	// A full disk or a read-only directory lasts until someone fixes it;
	// rows are retried until then rather than dropped after a few minutes.
	retry.MaxElapsedTime = 0
	return &Config{
		Events:   OutputConfig{Path: defaultEventsPath},
		Entities: OutputConfig{Path: defaultEntitiesPath},
		Format:   FormatCSV,
		CSV:      CSVConfig{Delimiter: ",", LineEnding: LineEndingCRLF},
		Rotation: RotationConfig{
			TimeSource:      TimeSourceEvent,
			MaxMegabytes:    defaultMaxMegabytes,
			EventTimeWindow: EventTimeWindowConfig{Past: defaultEventPast, Future: defaultEventFuture},
		},
		FlushInterval:        defaultFlushInterval,
		Fsync:                FsyncOnClose,
		DirectoryPermissions: defaultDirPerm,
		FilePermissions:      defaultFilePerm,
		QueueConfig:          configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:          retry,
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set, outputEvents)
	if err != nil {
		return nil, err
	}
	e.health = exporterhealth.NewTracker()
	return exporterhelper.NewLogs(ctx, set, cfg, e.consumeLogs, options(c, e)...)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set, outputEntities)
	if err != nil {
		return nil, err
	}
	e.health = exporterhealth.NewTracker()
	return exporterhelper.NewTraces(ctx, set, cfg, e.consumeTraces, options(c, e)...)
}

func options(cfg *Config, e *csvExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithQueue(cfg.QueueConfig),
		exporterhelper.WithRetry(cfg.RetryConfig),
	}
}
