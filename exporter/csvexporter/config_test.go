package csvexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	sub, err := cm.Sub(component.MustNewIDWithName(metadata.Type.String(), name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, "")
	assert.Equal(t, createDefaultConfig(), def)
	require.NoError(t, xconfmap.Validate(def))

	custom := loadConfig(t, "custom")
	require.NoError(t, xconfmap.Validate(custom))
	assert.Equal(t, "/var/lib/wafermonitor/events_%Y%m%d%H.csv", custom.Events.Path)
	assert.Nil(t, custom.Events.Columns)
	assert.Equal(t, []ColumnConfig{{Name: "severity", Field: "severity"}}, custom.Events.ExtraColumns)
	assert.Len(t, custom.Entities.Columns, 3)
	assert.Equal(t, CSVConfig{Delimiter: ";", LineEnding: LineEndingLF, BOM: true}, custom.CSV)
	assert.Equal(t, RotationConfig{
		TimeSource: TimeSourceWallClock, LocalTime: true, MaxMegabytes: 50,
		Compression: CompressionGzip, MaxFiles: 30, MaxAge: 720 * time.Hour,
		EventTimeWindow: EventTimeWindowConfig{Past: 48 * time.Hour, Future: 0},
	}, custom.Rotation)
	assert.Equal(t, 5*time.Second, custom.FlushInterval)
	assert.Equal(t, FsyncOnFlush, custom.Fsync)
	require.True(t, custom.QueueConfig.HasValue())
	require.NotNil(t, custom.QueueConfig.Get().StorageID)
	assert.Equal(t, "file_storage", custom.QueueConfig.Get().StorageID.String())
	assert.Equal(t, time.Minute, custom.RetryConfig.MaxInterval)
	assert.Zero(t, custom.RetryConfig.MaxElapsedTime, "rows are retried until the disk is fixed")

	cols := buildColumns(custom.Events, defaultEventColumns, eventFields)
	assert.Len(t, cols, len(defaultEventColumns)+1)
	assert.Equal(t, "severity", cols[len(cols)-1].name)
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := loadConfig(t, "invalid").Validate()
	require.Error(t, err)
	for _, want := range []string{
		"events::path must not be empty",
		"events::columns[0]: set exactly one of attribute and field",
		`events::columns[1]::name "a" is used by another column`,
		`events::columns[1]::field "nope" is unknown; events fields are body, event_name, observed_timestamp, severity, span_id, timestamp, trace_id`,
		`entities::path: "/data/%Q.csv": unknown time token`,
		`format must be "csv" or "jsonl", got "xml"`,
		"csv::delimiter must not be a quote or a line break",
		`csv::line_ending must be "crlf" or "lf", got "cr"`,
		`rotation::time_source must be "event" or "wall_clock", got "sundial"`,
		`rotation::compression must be empty or "gzip", got "zip"`,
		"rotation::max_megabytes must not be negative",
		"rotation::max_files must not be negative",
		"rotation::max_age must not be negative",
		"rotation::event_time_window::past must not be negative, got -1h0m0s",
		"rotation::event_time_window::future must not be negative, got -1s",
		"flush_interval must not be negative",
		`fsync must be "never", "on_close" or "on_flush", got "sometimes"`,
		`directory_permissions must be an octal mode such as "0750", got "rwx"`,
		`file_permissions must be an octal mode such as "0750", got "0"`,
	} {
		assert.ErrorContains(t, err, want)
	}
}

func TestValidateSamePathAndColumns(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Entities.Path = "./data/../data/wafer_events_%Y%m%d.csv"
	cfg.Entities.Columns = []ColumnConfig{}
	cfg.CSV.Delimiter = ",,"
	err := cfg.Validate()
	assert.ErrorContains(t, err, "events::path and entities::path must differ")
	assert.ErrorContains(t, err, "entities::columns must not be empty")
	assert.ErrorContains(t, err, "csv::delimiter must be exactly one character")
}
