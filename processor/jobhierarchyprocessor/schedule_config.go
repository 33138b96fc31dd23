package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ScheduleConfig is a job that is expected to start at known times: at every
// slot of its cron expression or interval, a matching job must start within
// grace, or a missed event is reported.
type ScheduleConfig struct {
	// Name identifies the schedule in events and metrics; unique.
	Name string `mapstructure:"name"`
	// Match selects the jobs that are runs of the schedule.
	Match ScheduleMatch `mapstructure:"match"`
	// Cron is a standard 5-field cron expression (minute hour day-of-month
	// month day-of-week), or @yearly, @monthly, @weekly, @daily, @hourly.
	Cron string `mapstructure:"cron"`
	// Every is an interval instead of Cron: slots at multiples of it since
	// 1970-01-01T00:00:00Z.
	Every time.Duration `mapstructure:"every"`
	// Timezone is the IANA time zone of Cron; UTC by default.
	Timezone string `mapstructure:"timezone"`
	// Grace is how long after its slot a run may start.
	Grace time.Duration `mapstructure:"grace"`
	// LateAfter is the delay after the slot from which a start is reported
	// as late_start; 0 takes half of Grace, at most a minute.
	LateAfter time.Duration `mapstructure:"late_after"`
	// MaxRuntime, when set, is how long a run may stay open before the
	// watchdog gives it up with a timeout event, in place of max_duration.
	MaxRuntime time.Duration `mapstructure:"max_runtime"`
}

// ScheduleMatch selects jobs by application, business key and site with
// glob patterns (* any text, ? one character); an empty pattern matches
// every job.
type ScheduleMatch struct {
	Service     string `mapstructure:"service"`
	BusinessKey string `mapstructure:"business_key"`
	Site        string `mapstructure:"site"`
}

// maxScheduleNameBytes keeps a schedule's name, a metric label, short.
const maxScheduleNameBytes = 128

// validateSchedules reports every problem of the schedules, each naming the
// schedule and the key.
func validateSchedules(schedules []ScheduleConfig, watchdog bool) []error {
	var errs []error
	seen := map[string]int{}
	for i, s := range schedules {
		field := fmt.Sprintf("schedules[%d]", i)
		switch {
		case strings.TrimSpace(s.Name) == "":
			errs = append(errs, fmt.Errorf("%s::name must be set", field))
		case len(s.Name) > maxScheduleNameBytes:
			errs = append(errs, fmt.Errorf("%s::name is longer than %d bytes", field, maxScheduleNameBytes))
		default:
			if j, dup := seen[s.Name]; dup {
				errs = append(errs, fmt.Errorf("%s::name %q is already the name of schedules[%d]; names must be unique", field, s.Name, j))
			}
			seen[s.Name] = i
			field = fmt.Sprintf("schedules[%d] (%s)", i, s.Name)
		}
		if _, err := newSlotSource(s); err != nil {
			errs = append(errs, fmt.Errorf("%s::%w", field, err))
		}
		if s.Grace <= 0 {
			errs = append(errs, fmt.Errorf("%s::grace must be positive (how long after its slot a run may start), got %s", field, s.Grace))
		}
		if s.LateAfter < 0 || (s.Grace > 0 && s.LateAfter >= s.Grace) {
			errs = append(errs, fmt.Errorf("%s::late_after must be at least 0 and less than grace (%s), got %s", field, s.Grace, s.LateAfter))
		}
		if s.MaxRuntime < 0 {
			errs = append(errs, fmt.Errorf("%s::max_runtime must not be negative, got %s", field, s.MaxRuntime))
		}
		if s.MaxRuntime > 0 && !watchdog {
			errs = append(errs, fmt.Errorf("%s::max_runtime needs the watchdog: set watchdog::enabled to true or remove max_runtime", field))
		}
	}
	return errs
}

// newSlotSource makes the slots of a schedule from its cron or every.
func newSlotSource(s ScheduleConfig) (slotSource, error) {
	switch {
	case s.Cron != "" && s.Every != 0:
		return nil, errors.New("cron and every are both set: set one")
	case s.Every != 0:
		if s.Timezone != "" {
			return nil, errors.New("timezone applies to cron only: every counts from 1970-01-01T00:00:00Z")
		}
		if s.Every < time.Second {
			return nil, fmt.Errorf("every must be at least 1s, got %s", s.Every)
		}
		return everySlots{every: s.Every}, nil
	case s.Cron != "":
		loc := time.UTC
		if s.Timezone != "" {
			l, err := time.LoadLocation(s.Timezone)
			if err != nil {
				return nil, fmt.Errorf("timezone: unknown time zone %q (an IANA name such as Europe/Berlin)", s.Timezone)
			}
			loc = l
		}
		src, err := parseCron(s.Cron, loc)
		if err != nil {
			return nil, fmt.Errorf("cron: %w", err)
		}
		return src, nil
	}
	return nil, errors.New("cron or every must be set")
}

// globPattern compiles a glob (* any text, ? one character, everything else
// literal) to an anchored regular expression; an empty glob matches
// everything and compiles to nil. No glob library: these two wildcards are
// all a match needs, and unlike path.Match, * crosses "/".
func globPattern(glob string) *regexp.Regexp {
	if glob == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// literal returns the glob itself when it has no wildcard, else "".
func literal(glob string) string {
	if strings.ContainsAny(glob, "*?") {
		return ""
	}
	return glob
}
