package jobhierarchyprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScheduleSlots walks the slots of cron expressions and intervals from a
// point in time: edges of the calendar and the days the clocks change in
// Europe/Berlin (2025-03-30 02:00 -> 03:00, 2025-10-26 03:00 -> 02:00) and
// America/New_York (2025-03-09 02:00 -> 03:00, 2025-11-02 02:00 -> 01:00).
// Times are written with their offsets, so each says which occurrence it is.
func TestScheduleSlots(t *testing.T) {
	tests := []struct {
		name      string
		cfg       ScheduleConfig
		from      string
		wantSlots []string
	}{
		{"every 15m from the middle of a period", ScheduleConfig{Every: 15 * time.Minute},
			"2025-10-19T12:07:00Z", []string{"2025-10-19T12:15:00Z", "2025-10-19T12:30:00Z"}},
		{"every 5s from a slot: the next one", ScheduleConfig{Every: 5 * time.Second},
			"2025-10-19T12:00:05Z", []string{"2025-10-19T12:00:10Z", "2025-10-19T12:00:15Z"}},
		{"every 24h is midnight UTC", ScheduleConfig{Every: 24 * time.Hour},
			"2025-10-19T23:59:59.999Z", []string{"2025-10-20T00:00:00Z", "2025-10-21T00:00:00Z"}},
		{"daily at 02:00 UTC, a nanosecond before", ScheduleConfig{Cron: "0 2 * * *"},
			"2025-10-19T01:59:59.999999999Z", []string{"2025-10-19T02:00:00Z", "2025-10-20T02:00:00Z"}},
		{"the last minute of the year", ScheduleConfig{Cron: "59 23 31 12 *"},
			"2025-12-31T23:59:00Z", []string{"2026-12-31T23:59:00Z"}},
		{"29 February: the next leap year", ScheduleConfig{Cron: "0 0 29 2 *"},
			"2025-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"29 February past the zone table's last year", ScheduleConfig{Cron: "0 0 29 2 *", Timezone: "Europe/Berlin"},
			"2040-03-01T00:00:00+01:00", []string{"2044-02-29T00:00:00+01:00", "2048-02-29T00:00:00+01:00"}},
		{"weekdays: Friday, then Monday", ScheduleConfig{Cron: "0 9 * * 1-5"},
			"2025-10-17T08:00:00Z", []string{"2025-10-17T09:00:00Z", "2025-10-20T09:00:00Z"}},
		{"day of month or day of week (cron's rule)", ScheduleConfig{Cron: "0 0 13 * fri"},
			"2025-06-12T00:00:00Z", []string{"2025-06-13T00:00:00Z", "2025-06-20T00:00:00Z", "2025-06-27T00:00:00Z", "2025-07-04T00:00:00Z", "2025-07-11T00:00:00Z", "2025-07-13T00:00:00Z"}},
		{"@daily", ScheduleConfig{Cron: "@daily"},
			"2025-10-19T12:00:00Z", []string{"2025-10-20T00:00:00Z"}},
		{"a step over the hour", ScheduleConfig{Cron: "*/20 * * * *"},
			"2025-10-19T12:41:00Z", []string{"2025-10-19T13:00:00Z", "2025-10-19T13:20:00Z"}},

		// Europe/Berlin, spring: 02:00-03:00 does not exist on 30 March.
		{"Berlin spring: a fixed time in the skipped hour fires when the clocks jump", ScheduleConfig{Cron: "30 2 * * *", Timezone: "Europe/Berlin"},
			"2025-03-29T03:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"}},
		{"Berlin spring: two fixed times in the skipped hour fire once", ScheduleConfig{Cron: "0,30 2 * * *", Timezone: "Europe/Berlin"},
			"2025-03-30T00:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"}},
		{"Berlin spring: a fixed time after the jump is kept", ScheduleConfig{Cron: "0 3 * * *", Timezone: "Europe/Berlin"},
			"2025-03-30T00:00:00+01:00", []string{"2025-03-30T03:00:00+02:00", "2025-03-31T03:00:00+02:00"}},
		{"Berlin spring: hourly skips the missing hour", ScheduleConfig{Cron: "0 * * * *", Timezone: "Europe/Berlin"},
			"2025-03-30T00:30:00+01:00", []string{"2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"}},
		// Europe/Berlin, autumn: 02:00-03:00 happens twice on 26 October.
		{"Berlin autumn: a fixed time in the repeated hour fires once", ScheduleConfig{Cron: "30 2 * * *", Timezone: "Europe/Berlin"},
			"2025-10-26T00:00:00+02:00", []string{"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"}},
		{"Berlin autumn: every 30 minutes fires in both hours", ScheduleConfig{Cron: "*/30 * * * *", Timezone: "Europe/Berlin"},
			"2025-10-26T01:45:00+02:00", []string{"2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T02:30:00+01:00", "2025-10-26T03:00:00+01:00"}},
		{"Berlin autumn: a daily time outside the change", ScheduleConfig{Cron: "0 4 * * *", Timezone: "Europe/Berlin"},
			"2025-10-25T12:00:00+02:00", []string{"2025-10-26T04:00:00+01:00", "2025-10-27T04:00:00+01:00"}},

		// America/New_York, spring: 02:00-03:00 does not exist on 9 March.
		{"New York spring: a fixed time in the skipped hour", ScheduleConfig{Cron: "30 2 * * *", Timezone: "America/New_York"},
			"2025-03-08T12:00:00-05:00", []string{"2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"}},
		// America/New_York, autumn: 01:00-02:00 happens twice on 2 November.
		{"New York autumn: a fixed time in the repeated hour fires once", ScheduleConfig{Cron: "30 1 * * *", Timezone: "America/New_York"},
			"2025-11-01T12:00:00-04:00", []string{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
		{"New York autumn: hourly fires in both hours", ScheduleConfig{Cron: "15 * * * *", Timezone: "America/New_York"},
			"2025-11-02T00:30:00-04:00", []string{"2025-11-02T01:15:00-04:00", "2025-11-02T01:15:00-05:00", "2025-11-02T02:15:00-05:00"}},
		{"New York: weekly on Sunday across the change", ScheduleConfig{Cron: "0 6 * * 0", Timezone: "America/New_York"},
			"2025-10-26T12:00:00-04:00", []string{"2025-11-02T06:00:00-05:00", "2025-11-09T06:00:00-05:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := newSlotSource(tt.cfg)
			require.NoError(t, err)
			at := mustTime(t, tt.from)
			for i, want := range tt.wantSlots {
				at = src.after(at)
				assert.True(t, mustTime(t, want).Equal(at), "slot %d: got %s, want %s", i, at.Format(time.RFC3339), want)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}

// TestScheduleConfigErrors: each problem is an error at start that names
// the schedule and the key.
func TestScheduleConfigErrors(t *testing.T) {
	ok := ScheduleConfig{Name: "nightly", Cron: "0 2 * * *", Grace: 30 * time.Minute}
	with := func(f func(*ScheduleConfig)) ScheduleConfig {
		c := ok
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		schedules []ScheduleConfig
		watchdog  bool
		want      string
	}{
		{"bad cron", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "0 2 * *" })}, true,
			`schedules[0] (nightly)::cron: expected exactly 5 fields, found 4: [0 2 * *]`},
		{"a value out of range", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "0 25 * * *" })}, true,
			`schedules[0] (nightly)::cron: end of range (25) above maximum (23): 25`},
		{"never fires", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "0 0 30 2 *" })}, true,
			`schedules[0] (nightly)::cron: the expression never fires (0 0 30 2 *)`},
		{"time zone in the expression", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "CRON_TZ=UTC 0 2 * * *" })}, true,
			`schedules[0] (nightly)::cron: set the time zone with the timezone key`},
		{"@every", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "@every 1h" })}, true,
			`schedules[0] (nightly)::cron: use the every key for an interval`},
		{"unknown timezone", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Timezone = "Europe/Berln" })}, true,
			`schedules[0] (nightly)::timezone: unknown time zone "Europe/Berln"`},
		{"both cron and every", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Every = time.Hour })}, true,
			`schedules[0] (nightly)::cron and every are both set`},
		{"neither", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron = "" })}, true,
			`schedules[0] (nightly)::cron or every must be set`},
		{"every below a second", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron, c.Every = "", time.Millisecond })}, true,
			`schedules[0] (nightly)::every must be at least 1s`},
		{"timezone with every", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Cron, c.Every, c.Timezone = "", time.Hour, "UTC" })}, true,
			`schedules[0] (nightly)::timezone applies to cron only`},
		{"grace zero", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Grace = 0 })}, true,
			`schedules[0] (nightly)::grace must be positive`},
		{"late_after not below grace", []ScheduleConfig{with(func(c *ScheduleConfig) { c.LateAfter = time.Hour })}, true,
			`schedules[0] (nightly)::late_after must be at least 0 and less than grace (30m0s), got 1h0m0s`},
		{"max_runtime without the watchdog", []ScheduleConfig{with(func(c *ScheduleConfig) { c.MaxRuntime = time.Hour })}, false,
			`schedules[0] (nightly)::max_runtime needs the watchdog`},
		{"no name", []ScheduleConfig{with(func(c *ScheduleConfig) { c.Name = " " })}, true,
			`schedules[0]::name must be set`},
		{"duplicate names", []ScheduleConfig{ok, ok}, true,
			`schedules[1]::name "nightly" is already the name of schedules[0]; names must be unique`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Watchdog.Enabled = tt.watchdog
			cfg.Schedules = tt.schedules
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	cfg := createDefaultConfig().(*Config)
	cfg.Schedules = []ScheduleConfig{ok, with(func(c *ScheduleConfig) {
		c.Name, c.Cron, c.Every, c.MaxRuntime, c.LateAfter = "every", "", 15*time.Minute, 2*time.Hour, time.Minute
	})}
	assert.NoError(t, cfg.Validate())
}
