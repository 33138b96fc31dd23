package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
)

const (
	defaultTimeout             = 10 * time.Second
	defaultConnectTimeout      = 3 * time.Second
	defaultMaxValuesPerRequest = 250
	defaultHost                = "{site}-{app}"
	defaultJob                 = "{business_key}"
	defaultMetricsJob          = "_all"
	defaultDiscoveryKey        = "wafer.discovery"
	defaultDiscoveryInterval   = time.Hour
	defaultItemDelay           = 75 * time.Second
	defaultTriggerDelay        = time.Minute
	defaultMaxJobTypes         = 10000
	defaultMaxRefusedTime      = 3 * time.Minute
	defaultMaxHeldValues       = 100000
	defaultLegacyHost          = "wafermonitor"
	defaultMaxRunning          = 100000
	// defaultMaxElapsedTime outlasts what a new job type's values may wait
	// through the retry with the defaults: item_delay, max_refused_time and
	// trigger_delay, 5m15s.
	defaultMaxElapsedTime = 10 * time.Minute
)

// NewFactory returns the factory of the zabbix exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = defaultMaxElapsedTime
	return &Config{
		TimeoutConfig:       exporterhelper.TimeoutConfig{Timeout: defaultTimeout},
		QueueConfig:         configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:         retry,
		TLS:                 configtls.ClientConfig{Insecure: true},
		MaxValuesPerRequest: defaultMaxValuesPerRequest,
		ConnectTimeout:      defaultConnectTimeout,
		Host:                defaultHost,
		Job:                 defaultJob,
		MetricsJob:          defaultMetricsJob,
		Discovery: DiscoveryConfig{
			Key:            defaultDiscoveryKey,
			Interval:       defaultDiscoveryInterval,
			ItemDelay:      defaultItemDelay,
			TriggerDelay:   defaultTriggerDelay,
			MaxJobTypes:    defaultMaxJobTypes,
			MaxRefusedTime: defaultMaxRefusedTime,
			MaxHeldValues:  defaultMaxHeldValues,
		},
		Legacy:             LegacyConfig{Host: defaultLegacyHost},
		MaxRunningEntities: defaultMaxRunning,
	}
}

func helperOptions(c *Config, core *sharedcomponent.Component[*zabbixExporter], health *exporterhealth.Tracker) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(func(ctx context.Context, host component.Host) error {
			health.Start(host)
			return core.Start(ctx, host)
		}),
		exporterhelper.WithShutdown(func(ctx context.Context) error {
			health.Shutdown()
			return core.Shutdown(ctx)
		}),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	}
}

// observed reports each delivery attempt's outcome as the exporter's
// component status (a recoverable error, then OK, on a change; the v1
// health answer reads it through the pipeline_health extension): failing
// while Zabbix cannot be reached, or while it refuses the values of job
// types for good. Waiting for Zabbix to create items is not a failure.
func observed[T any](e *zabbixExporter, health *exporterhealth.Tracker, push func(context.Context, T) error) func(context.Context, T) error {
	return func(ctx context.Context, data T) error {
		err := push(ctx, data)
		if err == nil || errors.Is(err, errItemsPending) || errors.Is(err, errValuesRejected) {
			health.Observe(e.jobs.rejection(e.now()))
		} else {
			health.Observe(err)
		}
		return err
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	core, err := cores.LoadOrStore(c, func() (*zabbixExporter, error) { return newExporter(c, set) })
	if err != nil {
		return nil, err
	}
	e := core.Unwrap()
	e.usedBy("logs", set.Logger)
	health := exporterhealth.NewTracker()
	exp, err := exporterhelper.NewLogs(ctx, set, cfg, observed(e, health, e.pushLogs), helperOptions(c, core, health)...)
	if err != nil {
		_ = core.Release(ctx)
		return nil, err
	}
	return exp, nil
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	core, err := cores.LoadOrStore(c, func() (*zabbixExporter, error) { return newExporter(c, set) })
	if err != nil {
		return nil, err
	}
	e := core.Unwrap()
	e.usedBy("traces", set.Logger)
	health := exporterhealth.NewTracker()
	exp, err := exporterhelper.NewTraces(ctx, set, cfg, observed(e, health, e.pushTraces), helperOptions(c, core, health)...)
	if err != nil {
		_ = core.Release(ctx)
		return nil, err
	}
	return exp, nil
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	core, err := cores.LoadOrStore(c, func() (*zabbixExporter, error) { return newExporter(c, set) })
	if err != nil {
		return nil, err
	}
	e := core.Unwrap()
	health := exporterhealth.NewTracker()
	exp, err := exporterhelper.NewMetrics(ctx, set, cfg, observed(e, health, e.pushMetrics), helperOptions(c, core, health)...)
	if err != nil {
		_ = core.Release(ctx)
		return nil, err
	}
	return exp, nil
}
