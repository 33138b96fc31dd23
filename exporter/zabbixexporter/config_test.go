package zabbixexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestConfigDefaults(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, []string{"127.0.0.1:10051"}, cfg.Endpoints)
	assert.Equal(t, "{site}-{app}", cfg.Host)
	assert.Equal(t, "{business_key}", cfg.Job)
	assert.Equal(t, 75*time.Second, cfg.Discovery.ItemDelay)
	assert.Equal(t, 3*time.Minute, cfg.Discovery.MaxRefusedTime)
	assert.Equal(t, time.Minute, cfg.Discovery.TriggerDelay)
	assert.Equal(t, 100000, cfg.Discovery.MaxHeldValues)
	assert.Equal(t, 250, cfg.MaxValuesPerRequest)
	assert.True(t, cfg.TLS.Insecure)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Greater(t, cfg.RetryConfig.MaxElapsedTime, cfg.Discovery.ItemDelay+cfg.Discovery.MaxRefusedTime+cfg.Discovery.TriggerDelay,
		"values of a new job type outlast their wait for items and triggers")
}

func TestConfigFull(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, []string{"zabbix-a.fab1:10051", "zabbix-b.fab1:10051"}, cfg.Endpoints)
	assert.False(t, cfg.TLS.Insecure)
	assert.Equal(t, "/etc/wafermonitor/zabbix-ca.pem", cfg.TLS.CAFile)
	assert.True(t, cfg.Compress)
	assert.Equal(t, 20*time.Second, cfg.TimeoutConfig.Timeout)
	assert.Equal(t, "{attr:wafer.metadata.recipe}", cfg.Job)
	assert.True(t, cfg.Legacy.Enabled)
	assert.Equal(t, "{site}-sidecar", cfg.Legacy.Host)
	assert.Equal(t, 5*time.Minute, cfg.Discovery.MaxRefusedTime)
	assert.Equal(t, 30*time.Second, cfg.Discovery.TriggerDelay)
	assert.Equal(t, 5000, cfg.Discovery.MaxHeldValues)
	require.NotNil(t, cfg.QueueConfig.Get().StorageID)
	assert.Equal(t, "file_storage", cfg.QueueConfig.Get().StorageID.String())
}

func TestConfigInvalid(t *testing.T) {
	cfg := loadConfig(t, "invalid")
	err := xconfmap.Validate(cfg)
	require.Error(t, err)
	for _, want := range []string{
		`endpoints[0]: "zabbix" is not host:port`,
		`endpoints[1]: port "99999"`,
		"max_values_per_request must be positive",
		"host: \"{site}-{nope}\": unknown placeholder {nope}",
		"job: \"{business_key\": unclosed {",
		"discovery::key",
		"discovery::interval must be positive",
		"discovery::max_job_types must be positive",
		"discovery::max_refused_time must not be negative",
		"discovery::trigger_delay must not be negative",
		"discovery::max_held_values must be positive",
		"retry_on_failure::max_elapsed_time (10m0s) must be longer than discovery::item_delay plus discovery::max_refused_time plus discovery::trigger_delay (10m58s)",
		"max_running_entities must be positive",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestNameTemplate(t *testing.T) {
	tmpl, err := parseNameTemplate("{site}/{app}:{attr:wafer.metadata.line}")
	require.NoError(t, err)
	assert.Len(t, tmpl.parts, 5)
	assert.Equal(t, "fab_1-litho_x", hostName("fab/1-litho:x"))
	assert.Equal(t, "unknown", hostName("  "))
	assert.Equal(t, "lot 'a'/b", keyParam(`lot "a"\b`))
	assert.Equal(t, "_", keyParam(""))
}
