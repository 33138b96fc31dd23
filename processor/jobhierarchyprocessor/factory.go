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
var hierarchies = sharedcomponent.NewMap[*Config, *hierarchy](sharedcomponent.WhileAllRun)

func loadOrStore(cfg *Config, set processor.Settings) (*sharedcomponent.Component[*hierarchy], error) {
	return hierarchies.LoadOrStore(cfg, func() (*hierarchy, error) { return newHierarchy(cfg, set) })
}

// Job spans get roll-ups and late subjob spans a mark; log records pass
// unchanged.
var (
	tracesCapabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true})
	logsCapabilities   = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})
)

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	h, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	h.Unwrap().nextTraces = next
	return processorhelper.NewTraces(ctx, set, cfg, next, h.Unwrap().processTraces,
		tracesCapabilities, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	h, err := loadOrStore(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	h.Unwrap().nextLogs = next
	return processorhelper.NewLogs(ctx, set, cfg, next, h.Unwrap().processLogs,
		logsCapabilities, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
}
