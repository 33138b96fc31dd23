package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/wafermonitor/wafermonitor/extension/gomemoryextension/internal/metadata"
)

const (
	defaultCheckInterval = 5 * time.Second
	defaultQuietMiB      = 16
	// defaultMinHeapGoalPercent: under a third of the soft memory limit.
	// At 1,000 events a second the shipped collector then collects every
	// few seconds instead of twice a second, and peak RSS stays far from
	// memory_limiter's limit.
	defaultMinHeapGoalPercent = 30
)

// NewFactory returns the factory of go_memory.
func NewFactory() extension.Factory {
	return extension.NewFactory(
		metadata.Type,
		createDefaultConfig,
		createExtension,
		metadata.ExtensionStability,
	)
}

func createDefaultConfig() component.Config {
	return &Config{MinHeapGoalPercent: defaultMinHeapGoalPercent, Release: ReleaseConfig{
		CheckInterval: defaultCheckInterval,
		QuietMiB:      defaultQuietMiB,
	}}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newGoMemory(cfg.(*Config), set.Logger, goRuntime()), nil
}
