package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"errors"
	"strings"
	"time"
	// The zone database in the binary, so that a schedule's timezone works
	// on hosts without /usr/share/zoneinfo (the binary is static); the
	// system's database is used where there is one.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// slotSource yields the slots of a schedule: the times a run should start.
type slotSource interface {
	// after returns the first slot strictly after t; the zero time when
	// there is none within five years.
	after(t time.Time) time.Time
}

// everySlots are the multiples of every since the Unix epoch.
type everySlots struct{ every time.Duration }

func (e everySlots) after(t time.Time) time.Time {
	n, d := t.UnixNano(), int64(e.every)
	q := n / d
	if n < 0 && n%d != 0 {
		q-- // floor
	}
	return time.Unix(0, (q+1)*d).UTC()
}

// cronSlots are the times a 5-field cron expression fires in a time zone,
// with cron's rules on the days the clocks change (those of Vixie cron and
// cronie, the crons of Debian and Red Hat): a schedule whose minute and hour
// are fixed ("30 2 * * *") fires once at the moment the clocks jump over its
// time, and once, at the first occurrence, when its time occurs twice; a
// schedule with a wildcard minute or hour ("*/15 * * * *", "0 * * * *")
// follows the clock: none in the hour that is skipped, and in both
// occurrences of the hour that is repeated.
type cronSlots struct {
	spec  *cron.SpecSchedule
	loc   *time.Location
	fixed bool
}

// cronDescriptors are the @ names of standard crons; @every and @reboot
// have no place here.
var cronDescriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// parseCron reads a standard cron expression (robfig/cron's parser: ranges,
// lists, steps, month and day names).
func parseCron(expr string, loc *time.Location) (*cronSlots, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, errors.New("set the time zone with the timezone key, not in the expression")
	case strings.HasPrefix(expr, "@every"):
		return nil, errors.New("use the every key for an interval")
	case strings.HasPrefix(expr, "@"):
		std, ok := cronDescriptors[expr]
		if !ok {
			return nil, errors.New("unknown descriptor " + expr + " (@yearly, @monthly, @weekly, @daily, @hourly)")
		}
		expr = std
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("not a cron expression")
	}
	spec.Location = loc
	fields := strings.Fields(expr)
	c := &cronSlots{spec: spec, loc: loc, fixed: !strings.HasPrefix(fields[0], "*") && !strings.HasPrefix(fields[1], "*")}
	if c.after(time.Now()).IsZero() {
		return nil, errors.New("the expression never fires (" + expr + ")")
	}
	return c, nil
}

func (c *cronSlots) after(t time.Time) time.Time {
	t = t.In(c.loc)
	for {
		s := c.spec.Next(t)
		if s.IsZero() || !c.fixed {
			return s
		}
		if g, ok := c.skippedTime(t, s); ok {
			return g
		}
		if !c.repeated(s) {
			return s
		}
		t = s
	}
}

// skippedTime finds a moment in (t, s] at which the clocks jump forward over
// a time the schedule names: its slot is that moment.
func (c *cronSlots) skippedTime(t, s time.Time) (time.Time, bool) {
	// Past the zone table's last year, Go's ZoneBounds can return an end
	// that is not after the time asked (at a year's end): step over it.
	for z, i := t, 0; i < 100000; i++ {
		_, end := z.ZoneBounds()
		if end.IsZero() || end.After(s) {
			return time.Time{}, false
		}
		if !end.After(z) {
			z = z.Add(time.Hour)
			continue
		}
		_, before := end.Add(-time.Nanosecond).Zone()
		_, after := end.Zone()
		if jump := time.Duration(after-before) * time.Second; jump > 0 && end.After(t) && c.namesWallTimeIn(end, jump) {
			return end, true
		}
		z = end
	}
	return time.Time{}, false
}

// namesWallTimeIn reports whether the schedule names a minute of the wall
// clock times that the jump at end skips: [wall(end) - jump, wall(end)).
func (c *cronSlots) namesWallTimeIn(end time.Time, jump time.Duration) bool {
	y, mo, d := end.Date()
	h, mi, _ := end.Clock()
	wall := time.Date(y, mo, d, h, mi, 0, 0, time.UTC) // the wall clock, as a time without a zone
	for w := wall.Add(-jump); w.Before(wall); w = w.Add(time.Minute) {
		if c.namesWallTime(w) {
			return true
		}
	}
	return false
}

// namesWallTime reports whether the schedule fires at the wall clock time w
// (its fields read in UTC).
func (c *cronSlots) namesWallTime(w time.Time) bool {
	s := c.spec
	bit := func(mask uint64, v int) bool { return mask&(1<<uint(v)) != 0 } //nolint:gosec // clock fields are small and positive
	if !bit(s.Minute, w.Minute()) || !bit(s.Hour, w.Hour()) || !bit(s.Month, int(w.Month())) {
		return false
	}
	// Day of month and day of week: both must match when either is a
	// wildcard, else either (cron's rule).
	const star = 1 << 63
	dom, dow := bit(s.Dom, w.Day()), bit(s.Dow, int(w.Weekday()))
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// repeated reports whether s lies in the second occurrence of wall clock
// times that the clocks going back repeat.
func (c *cronSlots) repeated(s time.Time) bool {
	start, _ := s.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, before := start.Add(-time.Nanosecond).Zone()
	_, now := s.Zone()
	back := time.Duration(before-now) * time.Second
	return back > 0 && s.Before(start.Add(back))
}
