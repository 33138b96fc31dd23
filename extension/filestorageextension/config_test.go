package filestorageextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/extension/filestorageextension/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.Directory = "/var/lib/otelcol-wafermonitor/queue"
	custom.Timeout = 2 * time.Second
	custom.FSync = true
	custom.CreateDirectory = true
	custom.DirectoryPermissions = "0700"
	custom.Compaction.OnStart = true
	custom.Compaction.OnRebound = true
	custom.Compaction.Directory = "/var/lib/otelcol-wafermonitor/compaction"
	custom.Compaction.MaxTransactionSize = 1024
	custom.Compaction.CheckInterval = 10 * time.Second

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "missing_directory"), wantErr: "directory must exist"},
		{id: component.NewIDWithName(metadata.Type, "bad_permissions"), wantErr: "directory_permissions value must be a valid octal representation"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.wantErr != "" {
				assert.ErrorContains(t, xconfmap.Validate(cfg), tt.wantErr)
				return
			}
			assert.Equal(t, tt.want, cfg, "contrib's keys, unchanged")
		})
	}
}

func TestDefaultConfigIsContribs(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, time.Second, cfg.Timeout)
	assert.Equal(t, "0750", cfg.DirectoryPermissions)
	assert.False(t, cfg.CreateDirectory)
	assert.False(t, cfg.FSync)
	assert.NotSame(t, cfg.Compaction, createDefaultConfig().(*Config).Compaction, "each config its own compaction settings")
}
