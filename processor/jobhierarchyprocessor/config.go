package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Outcome policy rules.
const (
	// RuleAnyFailed fails a job when any of its subjobs failed or timed out.
	RuleAnyFailed = "any_failed"
	// RuleFailedPercent fails a job when more than failed_percent of its
	// subjobs failed or timed out.
	RuleFailedPercent = "failed_percent"
	// RuleOwnStatus keeps the job's own outcome; subjobs never fail it.
	RuleOwnStatus = "own_status"
)

// Config of the jobhierarchy processor.
type Config struct {
	// CheckInterval is how often the watchdog looks for stalled and overdue
	// entities, orphan subjobs are looked for, late subjobs are summarised
	// and, with a storage extension, changed state is written.
	CheckInterval time.Duration `mapstructure:"check_interval"`

	// Outcome is the policy that derives a job's outcome from its subjobs.
	Outcome OutcomeConfig `mapstructure:"outcome"`

	// Watchdog turns silence into stalled and timeout events.
	Watchdog WatchdogConfig `mapstructure:"watchdog"`

	// LateWindow is how long a job's summary is kept after the job's span
	// passed, to recognise (and count) subjobs that arrive late.
	LateWindow time.Duration `mapstructure:"late_window"`

	// OrphanTimeout is how long subjobs may wait for their job: when the
	// job's span has not arrived, and the job is not known to be running,
	// this long after its first subjob, the subjobs are reported as orphans.
	OrphanTimeout time.Duration `mapstructure:"orphan_timeout"`

	// MaxOpenEntities caps the jobs and subjobs the watchdog holds; when it
	// is reached, the entity that reported least recently is dropped.
	MaxOpenEntities int `mapstructure:"max_open_entities"`

	// MaxJobSummaries caps the per-job roll-up summaries; when it is
	// reached, a summary is dropped: the one updated least recently among
	// those of jobs that never reported themselves, and only when there is
	// none of those, among the others.
	MaxJobSummaries int `mapstructure:"max_job_summaries"`

	// MaxSubjobIDs caps the subjobs the summaries remember as counted (8
	// bytes each), across all jobs; when it is reached, summaries are
	// dropped as for MaxJobSummaries.
	MaxSubjobIDs int `mapstructure:"max_subjob_ids"`

	// Storage names a storage extension (e.g. file_storage) that keeps the
	// state across restarts. Without it, the state lives in memory only.
	Storage *component.ID `mapstructure:"storage"`

	// Schedules are jobs expected to start at known times (schedule.go).
	Schedules []ScheduleConfig `mapstructure:"schedules"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// OutcomeConfig is the outcome policy.
type OutcomeConfig struct {
	// Rule is any_failed, failed_percent or own_status.
	Rule string `mapstructure:"rule"`
	// FailedPercent is the share of failed subjobs, in percent, above which
	// the failed_percent rule fails the job.
	FailedPercent float64 `mapstructure:"failed_percent"`
	// SuccessWithFailures gives a job that is not failed by the rule, but
	// has failed subjobs, the distinct outcome success_with_failures.
	SuccessWithFailures bool `mapstructure:"success_with_failures"`
	// MissingAsFailed counts subjobs a job declared but never reported as
	// failed.
	MissingAsFailed bool `mapstructure:"missing_as_failed"`
}

// WatchdogConfig sets when an open entity counts as stalled or overdue.
type WatchdogConfig struct {
	// Enabled turns the watchdog on.
	Enabled bool `mapstructure:"enabled"`
	// StallTimeout is how long an entity may stay silent before a stalled
	// event is emitted; 0 turns stall detection off.
	StallTimeout time.Duration `mapstructure:"stall_timeout"`
	// MaxDuration is how long an entity may stay open before it is given up
	// with a timeout event and an error span; 0 turns timeouts off.
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// Rules override StallTimeout and MaxDuration for matching entities; the
	// first rule that matches wins.
	Rules []WatchdogRule `mapstructure:"rules"`
}

// WatchdogRule matches entities by application, business key and type.
// Empty match fields match everything; a zero duration keeps the global one.
type WatchdogRule struct {
	// ServiceName is a regular expression that must match the whole
	// service.name (the application's name).
	ServiceName string `mapstructure:"service_name"`
	// BusinessKey is a regular expression that must match the whole
	// business key.
	BusinessKey string `mapstructure:"business_key"`
	// EntityType is job or subjob.
	EntityType string `mapstructure:"entity_type"`
	// StallTimeout replaces the global stall timeout.
	StallTimeout time.Duration `mapstructure:"stall_timeout"`
	// MaxDuration replaces the global maximum duration.
	MaxDuration time.Duration `mapstructure:"max_duration"`
}

// Validate reports every problem in the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("check_interval must be positive, got %s", cfg.CheckInterval))
	}
	if cfg.LateWindow < 0 {
		errs = append(errs, fmt.Errorf("late_window must not be negative, got %s", cfg.LateWindow))
	}
	if cfg.OrphanTimeout <= 0 {
		errs = append(errs, fmt.Errorf("orphan_timeout must be positive, got %s", cfg.OrphanTimeout))
	}
	if cfg.MaxOpenEntities <= 0 {
		errs = append(errs, fmt.Errorf("max_open_entities must be positive, got %d", cfg.MaxOpenEntities))
	}
	if cfg.MaxJobSummaries <= 0 {
		errs = append(errs, fmt.Errorf("max_job_summaries must be positive, got %d", cfg.MaxJobSummaries))
	}
	if cfg.MaxSubjobIDs <= 0 {
		errs = append(errs, fmt.Errorf("max_subjob_ids must be positive, got %d", cfg.MaxSubjobIDs))
	}
	switch cfg.Outcome.Rule {
	case RuleAnyFailed, RuleOwnStatus:
	case RuleFailedPercent:
		if cfg.Outcome.FailedPercent < 0 || cfg.Outcome.FailedPercent >= 100 {
			errs = append(errs, fmt.Errorf("outcome::failed_percent must be in [0, 100), got %g", cfg.Outcome.FailedPercent))
		}
	default:
		errs = append(errs, fmt.Errorf("outcome::rule must be %s, %s or %s, got %q", RuleAnyFailed, RuleFailedPercent, RuleOwnStatus, cfg.Outcome.Rule))
	}
	if cfg.Watchdog.StallTimeout < 0 {
		errs = append(errs, fmt.Errorf("watchdog::stall_timeout must not be negative, got %s", cfg.Watchdog.StallTimeout))
	}
	if cfg.Watchdog.MaxDuration < 0 {
		errs = append(errs, fmt.Errorf("watchdog::max_duration must not be negative, got %s", cfg.Watchdog.MaxDuration))
	}
	for i, r := range cfg.Watchdog.Rules {
		field := fmt.Sprintf("watchdog::rules[%d]", i)
		if _, err := compileFull(r.ServiceName); err != nil {
			errs = append(errs, fmt.Errorf("%s::service_name is not a valid regular expression: %w", field, err))
		}
		if _, err := compileFull(r.BusinessKey); err != nil {
			errs = append(errs, fmt.Errorf("%s::business_key is not a valid regular expression: %w", field, err))
		}
		switch r.EntityType {
		case "", semconv.EntityTypeJob, semconv.EntityTypeSubjob:
		default:
			errs = append(errs, fmt.Errorf("%s::entity_type must be %s or %s, got %q", field, semconv.EntityTypeJob, semconv.EntityTypeSubjob, r.EntityType))
		}
		if r.StallTimeout < 0 {
			errs = append(errs, fmt.Errorf("%s::stall_timeout must not be negative, got %s", field, r.StallTimeout))
		}
		if r.MaxDuration < 0 {
			errs = append(errs, fmt.Errorf("%s::max_duration must not be negative, got %s", field, r.MaxDuration))
		}
		if r.ServiceName == "" && r.BusinessKey == "" && r.EntityType == "" {
			errs = append(errs, fmt.Errorf("%s matches every entity: set service_name, business_key or entity_type, or change the global settings instead", field))
		}
	}
	errs = append(errs, validateSchedules(cfg.Schedules, cfg.Watchdog.Enabled)...)
	return errors.Join(errs...)
}

// compileFull compiles a pattern that must match a whole value; an empty
// pattern matches everything and compiles to nil.
func compileFull(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	return regexp.Compile("^(?:" + pattern + ")$")
}
