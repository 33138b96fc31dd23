package jobhierarchyprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewID("file_storage")
	custom := createDefaultConfig().(*Config)
	custom.CheckInterval = 5 * time.Second
	custom.LateWindow = 30 * time.Minute
	custom.OrphanTimeout = 20 * time.Minute
	custom.MaxOpenEntities = 5000
	custom.MaxJobSummaries = 2000
	custom.MaxSubjobIDs = 300000
	custom.Storage = &storageID
	custom.Outcome = OutcomeConfig{Rule: RuleFailedPercent, FailedPercent: 10, MissingAsFailed: true}
	custom.Watchdog = WatchdogConfig{
		Enabled:      true,
		StallTimeout: 5 * time.Minute,
		MaxDuration:  12 * time.Hour,
		Rules: []WatchdogRule{
			{ServiceName: "litho-.*", EntityType: "subjob", StallTimeout: 2 * time.Minute, MaxDuration: time.Hour},
			{BusinessKey: "lot-9.*", MaxDuration: 48 * time.Hour},
		},
	}
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig().(*Config)},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "invalid"), wantErr: []string{
			"check_interval must be positive",
			"orphan_timeout must be positive",
			"max_open_entities must be positive",
			"max_job_summaries must be positive",
			"max_subjob_ids must be positive",
			`outcome::rule must be any_failed, failed_percent or own_status, got "majority"`,
			"watchdog::stall_timeout must not be negative",
			"watchdog::rules[0]::service_name is not a valid regular expression",
			`watchdog::rules[0]::entity_type must be job or subjob, got "wafer"`,
			"watchdog::rules[0]::max_duration must not be negative",
			"watchdog::rules[1] matches every entity",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = xconfmap.Validate(cfg)
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, msg := range tt.wantErr {
					assert.ErrorContains(t, err, msg)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestFailedPercentRange(t *testing.T) {
	for _, p := range []float64{-1, 100, 150} {
		cfg := createDefaultConfig().(*Config)
		cfg.Outcome.Rule, cfg.Outcome.FailedPercent = RuleFailedPercent, p
		assert.ErrorContains(t, cfg.Validate(), "outcome::failed_percent must be in [0, 100)")
	}
}
