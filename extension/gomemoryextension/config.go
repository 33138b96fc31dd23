package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"

import (
	"errors"
	"fmt"
	"time"
)

// Config of the go_memory extension.
type Config struct {
	// LimitMiB and SpikeLimitMiB are the memory_limiter processor's
	// limit_mib and spike_limit_mib (give both the same values): the Go
	// runtime's soft memory limit is LimitMiB − SpikeLimitMiB, where
	// memory_limiter starts refusing data. SpikeLimitMiB 0 means 20 % of
	// LimitMiB, as in memory_limiter. LimitMiB 0 sets no limit. GOMEMLIMIT,
	// when set in the environment, wins.
	LimitMiB      uint32 `mapstructure:"limit_mib"`
	SpikeLimitMiB uint32 `mapstructure:"spike_limit_mib"`

	// MinHeapGoalPercent: the share of the soft memory limit the heap may
	// grow to before a collection, however little of it is live; 0 leaves
	// GOGC alone.
	MinHeapGoalPercent uint32 `mapstructure:"min_heap_goal_percent"`

	// Release is when the heap's unused memory is handed back.
	Release ReleaseConfig `mapstructure:"release"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ReleaseConfig says when the collector is quiet enough to collect its
// garbage and return the free heap to the system.
type ReleaseConfig struct {
	// CheckInterval is how often the extension reads how much the heap
	// allocated; 0 never releases.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// QuietMiB: having allocated less than this since the last check, the
	// collector is quiet. The first quiet check after a busy one releases.
	QuietMiB uint32 `mapstructure:"quiet_mib"`
	// QuietGarbageMiB: while quiet, the heap is released again once this
	// much was allocated since the last release and as much can be handed
	// back.
	QuietGarbageMiB uint32 `mapstructure:"quiet_garbage_mib"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.LimitMiB > 0 && c.spikeMiB() >= c.LimitMiB {
		errs = append(errs, fmt.Errorf("spike_limit_mib (%d) must be smaller than limit_mib (%d)", c.SpikeLimitMiB, c.LimitMiB))
	}
	if c.LimitMiB == 0 && c.SpikeLimitMiB > 0 {
		errs = append(errs, errors.New("spike_limit_mib needs limit_mib"))
	}
	if c.MinHeapGoalPercent > 90 {
		errs = append(errs, fmt.Errorf("min_heap_goal_percent must be at most 90, got %d", c.MinHeapGoalPercent))
	}
	if c.Release.CheckInterval > 0 && c.Release.QuietGarbageMiB == 0 {
		errs = append(errs, errors.New("release::quiet_garbage_mib must be at least 1"))
	}
	if c.Release.CheckInterval < 0 {
		errs = append(errs, fmt.Errorf("release::check_interval must not be negative, got %s", c.Release.CheckInterval))
	}
	return errors.Join(errs...)
}

func (c *Config) spikeMiB() uint32 {
	if c.SpikeLimitMiB == 0 {
		return c.LimitMiB / 5
	}
	return c.SpikeLimitMiB
}

// softLimitBytes is the Go runtime's soft memory limit, 0 for none.
func (c *Config) softLimitBytes() int64 {
	if c.LimitMiB == 0 {
		return 0
	}
	return int64(c.LimitMiB-c.spikeMiB()) << 20
}
