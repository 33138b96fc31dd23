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
	// defaultQuietGarbageMiB: an idle collector's RSS grows by at most
	// this between releases.
	defaultQuietGarbageMiB = 4
	// defaultMinHeapGoalPercent: a fifth of the soft memory limit (77 MiB
	// of the shipped 384). The long-lived objects a load makes are spread
	// over as many spans as the heap grows to between collections, and
	// what they keep in use stays after the load (19 MiB more in use after
	// a load with 115 MiB, the collector's live heap 7.5 MiB); the collector
	// keeping 10,000 open jobs has twice that floor live anyway.
	defaultMinHeapGoalPercent = 20
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
		CheckInterval:   defaultCheckInterval,
		QuietMiB:        defaultQuietMiB,
		QuietGarbageMiB: defaultQuietGarbageMiB,
	}}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newGoMemory(cfg.(*Config), set.Logger, goRuntime()), nil
}
