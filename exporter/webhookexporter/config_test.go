package webhookexporter

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestConfigDefaults(t *testing.T) {
	cfg := loadConfig(t, "")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "http://localhost:17001/v1/ingest/events", cfg.ClientConfig.Endpoint)
	assert.Equal(t, FormatV1, cfg.Format)
	assert.Equal(t, ModeSingle, cfg.Mode)
	assert.Equal(t, EnvelopeArray, cfg.BatchEnvelope)
	assert.Equal(t, 100, cfg.MaxBatchEvents)
	assert.Equal(t, "Idempotency-Key", cfg.IdempotencyHeader)
	assert.Equal(t, "X-Wafermonitor-Signature", cfg.Signing.SignatureHeader)
	assert.Equal(t, "X-Wafermonitor-Timestamp", cfg.Signing.TimestampHeader)
	assert.Empty(t, cfg.Signing.Secret)
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Empty(t, cfg.DeadLetter.Path)
	assert.Equal(t, 100, cfg.DeadLetter.MaxSizeMB)
}

func TestConfigFull(t *testing.T) {
	cfg := loadConfig(t, "full")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, FormatCloudEvents, cfg.Format)
	assert.Equal(t, ModeBatch, cfg.Mode)
	assert.Equal(t, 50, cfg.MaxBatchEvents)
	assert.Equal(t, configopaque.String("s3cr3t"), cfg.Signing.Secret)
	assert.Equal(t, "X-Signature", cfg.Signing.SignatureHeader)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	team, ok := cfg.ClientConfig.Headers.Get("X-Team")
	assert.True(t, ok)
	assert.Equal(t, configopaque.String("litho"), team)
	assert.Equal(t, "bearertokenauth/alerts", cfg.ClientConfig.Auth.Get().AuthenticatorID.String())
	assert.Equal(t, "/etc/ssl/alerts-ca.pem", cfg.ClientConfig.TLS.CAFile)
	assert.Equal(t, "com.example.wafer", cfg.CloudEvents.TypePrefix)
	require.Len(t, cfg.Filters, 2)
	assert.Equal(t, []string{"failure", "timeout"}, cfg.Filters[0].Outcomes)
	assert.Equal(t, []string{"fab1"}, cfg.Filters[1].Sites)
	assert.Equal(t, "/var/lib/otelcol/webhook-dead-letter.jsonl", cfg.DeadLetter.Path)
	assert.Equal(t, 3, cfg.DeadLetter.MaxBackups)
	assert.Equal(t, "file_storage", cfg.QueueConfig.Get().StorageID.String())
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime)
}

func TestConfigInvalid(t *testing.T) {
	cfg := loadConfig(t, "invalid")
	err := xconfmap.Validate(cfg)
	require.Error(t, err)
	for _, want := range []string{
		`endpoint "ftp://nowhere" must be an http:// or https:// URL`,
		`format must be one of v1, cloudevents, record, local_api, got "xml"`,
		`method must be one of POST, PUT, PATCH, got "GET"`,
		`mode must be one of single, batch, got "sometimes"`,
		`batch_envelope must be one of array, object, got "box"`,
		"max_batch_events must be positive",
		`signing::signature_header must be a valid HTTP header name, got "bad header"`,
		"filters::0 matches everything",
		`filters::1::event_kinds: unknown value "exploded"`,
		`filters::1::outcomes: unknown value "meh"`,
		`filters::1::entity_types: unknown value "lot"`,
		"filters::1::sites: empty value",
		"dead_letter::max_size_mb must be positive",
		"dead_letter::max_backups must not be negative",
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestConfigMissingEndpointAndCloudEvents(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Format = FormatCloudEvents
	cfg.CloudEvents = CloudEventsConfig{}
	err := cfg.Validate()
	assert.ErrorContains(t, err, "endpoint is required")
	assert.ErrorContains(t, err, "cloudevents::source must not be empty")
	assert.ErrorContains(t, err, "cloudevents::type_prefix must not be empty")
}

// TestConfigLocalAPI: the Local API's format needs its base URL, POST and
// bare-array batches; each mistake is named.
func TestConfigLocalAPI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"batch path", func(c *Config) { c.ClientConfig.Endpoint = "http://api:18000/v1/ingest/events:batch" }, `without /v1/ingest/events:batch`},
		{"single path", func(c *Config) { c.ClientConfig.Endpoint = "http://api:18000/v1/ingest/events/" }, `without /v1/ingest/events`},
		{"object envelope", func(c *Config) { c.BatchEnvelope = EnvelopeObject }, `batch_envelope must be "array" with format "local_api"`},
		{"method", func(c *Config) { c.Method = http.MethodPut }, `method must be POST with format "local_api"`},
		{"skew", func(c *Config) { c.LocalAPI.MaxTimeSkew = -time.Second }, "local_api::max_time_skew must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configFor("http://api:18000")
			cfg.Format = FormatLocalAPI
			require.NoError(t, cfg.Validate())
			tc.modify(cfg)
			assert.ErrorContains(t, cfg.Validate(), tc.want)
		})
	}
	cfg := configFor("http://api:18000")
	cfg.Format = FormatLocalAPI
	_, err := NewFactory().CreateTraces(t.Context(), newSettings(), cfg)
	assert.ErrorContains(t, err, `format "local_api" is made of lifecycle events: use it in a logs pipeline`)
}

func TestFactoryRejectsFormatForSignal(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = "http://127.0.0.1:1/"
	cfg.Format = FormatRecord
	_, err := f.CreateLogs(t.Context(), newSettings(), cfg)
	assert.ErrorContains(t, err, `format "record" is made of finished entities: use it in a traces pipeline`)
	cfg.Format = FormatV1
	_, err = f.CreateTraces(t.Context(), newSettings(), cfg)
	assert.ErrorContains(t, err, `format "v1" is made of lifecycle events: use it in a logs pipeline`)
}

// TestFilterScheduleKinds: a filter may select the jobhierarchy processor's
// schedule events.
func TestFilterScheduleKinds(t *testing.T) {
	cfg := loadConfig(t, "")
	cfg.Filters = []FilterConfig{{EventKinds: []string{"missed", "late_start"}}}
	assert.NoError(t, xconfmap.Validate(cfg))
}
