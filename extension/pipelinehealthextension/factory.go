package pipelinehealthextension // import "github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"

	"github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/pipelinehealth"
)

// NewFactory returns the factory of pipeline_health.
func NewFactory() extension.Factory {
	return extension.NewFactory(
		metadata.Type,
		createDefaultConfig,
		createExtension,
		metadata.ExtensionStability,
	)
}

func createDefaultConfig() component.Config {
	return &Config{DamagedFiles: DamagedFilesConfig{DegradedFor: pipelinehealth.DefaultDamagedDegradedFor}}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return &pipelineHealth{
		degradedFor: cfg.(*Config).DamagedFiles.DegradedFor,
		now:         time.Now,
		instances:   map[componentstatus.InstanceID]*instance{},
	}, nil
}
