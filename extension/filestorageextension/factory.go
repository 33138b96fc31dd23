package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/wafermonitor/wafermonitor/extension/filestorageextension/internal/metadata"
)

// NewFactory returns the factory of file_storage.
func NewFactory() extension.Factory {
	return extension.NewFactory(
		metadata.Type,
		createDefaultConfig,
		createExtension,
		metadata.ExtensionStability,
	)
}

func createDefaultConfig() component.Config {
	return &Config{Config: *filestorage.NewFactory().CreateDefaultConfig().(*filestorage.Config)}
}

func createExtension(ctx context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	c := cfg.(*Config)
	inner, err := filestorage.NewFactory().Create(ctx, set, &c.Config)
	if err != nil {
		return nil, err
	}
	se, ok := inner.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("contrib's file_storage is not a storage extension (%T)", inner)
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	// Absolute, for the health answer's spool_dir: a reader of it does not
	// know the collector's working directory.
	dir, err := filepath.Abs(c.Directory)
	if err != nil {
		dir = c.Directory
	}
	return &fileStorage{
		inner:     se,
		directory: dir,
		timeout:   c.Timeout,
		logger:    set.Logger,
		telemetry: tel,
		now:       time.Now,
		// contrib's online compaction reopens a file outside the calls
		// to its client: its map may then move while it is released.
		releaseMaps:   c.Compaction == nil || !c.Compaction.OnRebound,
		deferProgress: true,
		after:         realAfterFunc,
		clients:       map[string]*trackedFile{},
	}, nil
}
