package wafermonitorreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig().(*Config)
	custom.Endpoint = "0.0.0.0:18000"
	custom.MaxRequestBodySize = 1 << 20
	custom.MaxBatchEvents = 500
	custom.RetryAfter = 10 * time.Second
	custom.MetricsInterval = 15 * time.Second
	custom.Deduplication = DeduplicationConfig{Enabled: true, MaxKeys: 1000, Window: time.Hour}
	custom.Admission = AdmissionConfig{MaxBytesInFlight: 8 << 20, MaxConcurrentDecodes: 4, MaxWait: 2 * time.Second}

	deprecated := createDefaultConfig().(*Config)
	deprecated.MaxConcurrentRequests = 16

	nodedup := createDefaultConfig().(*Config)
	nodedup.Deduplication.Enabled = false

	tests := []struct {
		id       component.ID
		expected component.Config
		errs     []string
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), expected: custom},
		{id: component.NewIDWithName(metadata.Type, "nodedup"), expected: nodedup},
		{id: component.NewIDWithName(metadata.Type, "deprecated"), expected: deprecated},
		{id: component.NewIDWithName(metadata.Type, "invalid"), errs: []string{
			"max_batch_events must be positive",
			"max_concurrent_requests (deprecated: use admission::max_concurrent_decodes) must not be negative",
			"admission::max_bytes_in_flight must be positive",
			"admission::max_concurrent_decodes must not be negative",
			"admission::max_wait must be positive",
			"retry_after must be at least 1s",
			"metrics_interval must be positive",
			"deduplication::max_keys must be positive",
			"deduplication::window must be positive",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = xconfmap.Validate(cfg)
			if len(tt.errs) > 0 {
				require.Error(t, err)
				for _, e := range tt.errs {
					assert.ErrorContains(t, err, e)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:17000", cfg.Endpoint)
	assert.True(t, cfg.Deduplication.Enabled)
	assert.NotContains(t, cfg.CompressionAlgorithms, "snappy", "a snappy block is decoded before any limit applies")
	assert.Less(t, cfg.Admission.MaxWait, 5*time.Second, "answered before the old Python SDK's 5 s timeout")
	require.NoError(t, cfg.Validate())
}
