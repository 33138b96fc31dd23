package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"errors"
	"sync"
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
	defaultMaxJobTypes         = 10000
	defaultLegacyHost          = "wafermonitor"
	defaultMaxRunning          = 100000
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
	return &Config{
		TimeoutConfig:       exporterhelper.TimeoutConfig{Timeout: defaultTimeout},
		QueueConfig:         configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:         configretry.NewDefaultBackOffConfig(),
		TLS:                 configtls.ClientConfig{Insecure: true},
		MaxValuesPerRequest: defaultMaxValuesPerRequest,
		ConnectTimeout:      defaultConnectTimeout,
		Host:                defaultHost,
		Job:                 defaultJob,
		MetricsJob:          defaultMetricsJob,
		Discovery: DiscoveryConfig{
			Key:         defaultDiscoveryKey,
			Interval:    defaultDiscoveryInterval,
			ItemDelay:   defaultItemDelay,
			MaxJobTypes: defaultMaxJobTypes,
		},
		Legacy:             LegacyConfig{Host: defaultLegacyHost},
		MaxRunningEntities: defaultMaxRunning,
	}
}

// One exporter core serves every pipeline that names the same
// configuration, so that they share what was announced to Zabbix.
var cores = &coreMap{items: map[*Config]*sharedCore{}}

type coreMap struct {
	mu    sync.Mutex
	items map[*Config]*sharedCore
}

type sharedCore struct {
	e    *zabbixExporter
	refs int
}

func (m *coreMap) acquire(cfg *Config, set exporter.Settings) (*zabbixExporter, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.items[cfg]
	if !ok {
		e, err := newExporter(cfg, set)
		if err != nil {
			return nil, nil, err
		}
		c = &sharedCore{e: e}
		m.items[cfg] = c
	}
	c.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			c.refs--
			if c.refs == 0 {
				delete(m.items, cfg)
				c.e.shutdown()
			}
		})
	}
	return c.e, release, nil
}

func helperOptions(c *Config, e *zabbixExporter, health *exporterhealth.Tracker, release func()) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(func(ctx context.Context, host component.Host) error {
			health.Start(host)
			return e.start(ctx, host)
		}),
		exporterhelper.WithShutdown(func(context.Context) error {
			health.Shutdown()
			release()
			return nil
		}),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// Values of new job types are held for discovery::item_delay inside
		// one push; the timeout bounds each request to Zabbix instead.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	}
}

// observed reports each delivery attempt to the process-wide exporter
// health (the wafermonitor receiver's health endpoint turns "degraded");
// waiting for Zabbix to create items is not a failure.
func observed[T any](health *exporterhealth.Tracker, push func(context.Context, T) error) func(context.Context, T) error {
	return func(ctx context.Context, data T) error {
		err := push(ctx, data)
		if errors.Is(err, errItemsPending) {
			health.Observe(nil)
		} else {
			health.Observe(err)
		}
		return err
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, release, err := cores.acquire(c, set)
	if err != nil {
		return nil, err
	}
	health := exporterhealth.NewTracker(set.ID, "logs")
	exp, err := exporterhelper.NewLogs(ctx, set, cfg, observed(health, e.pushLogs), helperOptions(c, e, health, release)...)
	if err != nil {
		release()
		return nil, err
	}
	return releasingLogs{exp, e.stop}, nil
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, release, err := cores.acquire(c, set)
	if err != nil {
		return nil, err
	}
	health := exporterhealth.NewTracker(set.ID, "traces")
	exp, err := exporterhelper.NewTraces(ctx, set, cfg, observed(health, e.pushTraces), helperOptions(c, e, health, release)...)
	if err != nil {
		release()
		return nil, err
	}
	return releasingTraces{exp, e.stop}, nil
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	e, release, err := cores.acquire(c, set)
	if err != nil {
		return nil, err
	}
	health := exporterhealth.NewTracker(set.ID, "metrics")
	exp, err := exporterhelper.NewMetrics(ctx, set, cfg, observed(health, e.pushMetrics), helperOptions(c, e, health, release)...)
	if err != nil {
		release()
		return nil, err
	}
	return releasingMetrics{exp, e.stop}, nil
}

// The exporter helper drains its queue before it calls the exporter's own
// shutdown, so values held for new items are released first: their batches
// stay in a persistent queue for the next start.
type releasingLogs struct {
	exporter.Logs
	release func()
}

func (r releasingLogs) Shutdown(ctx context.Context) error {
	r.release()
	return r.Logs.Shutdown(ctx)
}

type releasingTraces struct {
	exporter.Traces
	release func()
}

func (r releasingTraces) Shutdown(ctx context.Context) error {
	r.release()
	return r.Traces.Shutdown(ctx)
}

type releasingMetrics struct {
	exporter.Metrics
	release func()
}

func (r releasingMetrics) Shutdown(ctx context.Context) error {
	r.release()
	return r.Metrics.Shutdown(ctx)
}
