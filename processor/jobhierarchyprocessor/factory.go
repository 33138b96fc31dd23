package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
)

const (
	defaultCheckInterval   = time.Second
	defaultStallTimeout    = 15 * time.Minute
	defaultMaxDuration     = 24 * time.Hour
	defaultLateWindow      = time.Hour
	defaultOrphanTimeout   = 10 * time.Minute
	defaultMaxOpenEntities = 100000
	defaultMaxJobSummaries = 100000
	defaultMaxSubjobIDs    = 2000000
)

// NewFactory returns the factory of the jobhierarchy processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		CheckInterval: defaultCheckInterval,
		Outcome: OutcomeConfig{
			Rule:                RuleAnyFailed,
			SuccessWithFailures: true,
		},
		Watchdog: WatchdogConfig{
			Enabled:      true,
			StallTimeout: defaultStallTimeout,
			MaxDuration:  defaultMaxDuration,
		},
		LateWindow:      defaultLateWindow,
		OrphanTimeout:   defaultOrphanTimeout,
		MaxOpenEntities: defaultMaxOpenEntities,
		MaxJobSummaries: defaultMaxJobSummaries,
		MaxSubjobIDs:    defaultMaxSubjobIDs,
	}
}

// One hierarchy serves every pipeline that names the same configuration.
// Its state lives while any of them runs (sharedcomponent.WhileAnyRuns):
// restored before the first pipeline's data arrives, written after the last
// pipeline's; its periodic check, which sends into all of them, runs only
// while all of them run (sharedcomponent.Sender).
var hierarchies = sharedcomponent.NewMap[*Config, *hierarchy](sharedcomponent.WhileAnyRuns)

var _ sharedcomponent.Sender = (*hierarchy)(nil)

func loadOrStore(cfg *Config, set processor.Settings) (*sharedcomponent.Component[*hierarchy], error) {
	return hierarchies.LoadOrStore(cfg, func() (*hierarchy, error) { return newHierarchy(cfg, set) })
}

// Job spans get roll-ups and late subjob spans a mark; log records pass
// unchanged.
var (
	tracesCapabilities  = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})
	logsCapabilities    = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})
	metricsCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})
)

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	h, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	h.Unwrap().nextTraces = next
	p, err := processorhelper.NewTraces(ctx, set, cfg, next, h.Unwrap().processTraces,
		tracesCapabilities, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
	if err != nil {
		_ = h.Release(ctx)
		return nil, err
	}
	return p, nil
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	h, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	h.Unwrap().nextLogs = next
	p, err := processorhelper.NewLogs(ctx, set, cfg, next, h.Unwrap().processLogs,
		logsCapabilities, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
	if err != nil {
		_ = h.Release(ctx)
		return nil, err
	}
	return p, nil
}

// createMetrics puts the processor in a metrics pipeline: metrics pass
// through, and the schedules' series are sent there.
func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	h, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	h.Unwrap().nextMetrics = next
	p, err := processorhelper.NewMetrics(ctx, set, cfg, next, h.Unwrap().processMetrics,
		metricsCapabilities, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
	if err != nil {
		_ = h.Release(ctx)
		return nil, err
	}
	return p, nil
}
