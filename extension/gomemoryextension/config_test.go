package gomemoryextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/extension/gomemoryextension/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	defaults := ReleaseConfig{CheckInterval: 5 * time.Second, QuietMiB: 16, QuietGarbageMiB: 4}
	tests := []struct {
		name     string
		want     *Config
		wantSoft int64
		wantErr  string
	}{
		{name: "", want: &Config{MinHeapGoalPercent: 20, Release: defaults}},
		{name: "custom", want: &Config{LimitMiB: 512, SpikeLimitMiB: 128, MinHeapGoalPercent: 30,
			Release: ReleaseConfig{CheckInterval: 10 * time.Second, QuietMiB: 32, QuietGarbageMiB: 8}}, wantSoft: 384 << 20},
		// memory_limiter's default spike limit: 20 % of limit_mib.
		{name: "default_spike", want: &Config{LimitMiB: 1000, MinHeapGoalPercent: 20, Release: defaults}, wantSoft: 800 << 20},
		{name: "spike_too_large", wantErr: "spike_limit_mib (100) must be smaller than limit_mib (100)"},
		{name: "spike_alone", wantErr: "spike_limit_mib needs limit_mib"},
		{name: "heap_goal_too_large", wantErr: "min_heap_goal_percent must be at most 90, got 95"},
		{name: "no_quiet_garbage", wantErr: "release::quiet_garbage_mib must be at least 1"},
		{name: "negative_interval", wantErr: "release::check_interval must not be negative, got -1s"},
	}
	for _, tt := range tests {
		id := component.NewIDWithName(metadata.Type, tt.name)
		t.Run(id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			if tt.wantErr != "" {
				assert.EqualError(t, xconfmap.Validate(cfg), tt.wantErr)
				return
			}
			require.NoError(t, xconfmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg)
			assert.Equal(t, tt.wantSoft, cfg.softLimitBytes())
		})
	}
}
