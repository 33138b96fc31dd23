package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"strconv"
	"time"
)

// outOfRangeSuffix follows the period in the name of the file that takes
// the rows whose event time is outside the event-time window:
// wafer_events_20251019_out_of_range.csv holds the rows written on that day
// whose own time was too far from it.
const outOfRangeSuffix = "_out_of_range"

// periodUnit is the length of a template's period: its finest time token.
type periodUnit int

const (
	periodNone periodUnit = iota // no token: one file
	periodYear
	periodMonth
	periodDay
	periodHour
)

// unitOf is the period of a token letter.
func unitOf(token byte) periodUnit {
	switch token {
	case 'Y':
		return periodYear
	case 'm':
		return periodMonth
	case 'd':
		return periodDay
	case 'H':
		return periodHour
	}
	return periodNone
}

// start is the beginning of the period that holds at, in at's location.
func (u periodUnit) start(at time.Time) time.Time {
	y, m, d := at.Date()
	switch u {
	case periodYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, at.Location())
	case periodMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, at.Location())
	case periodDay:
		return time.Date(y, m, d, 0, 0, 0, 0, at.Location())
	case periodHour:
		return time.Date(y, m, d, at.Hour(), 0, 0, 0, at.Location())
	}
	return time.Time{}
}

// end is the end of the period that holds at; zero for periodNone.
func (u periodUnit) end(at time.Time) time.Time {
	s := u.start(at)
	switch u {
	case periodYear:
		return s.AddDate(1, 0, 0)
	case periodMonth:
		return s.AddDate(0, 1, 0)
	case periodDay:
		return s.AddDate(0, 0, 1)
	case periodHour:
		return s.Add(time.Hour)
	}
	return time.Time{}
}

// eventWindow is the range of event times that are placed in their own
// period's file: from the start of the period that holds now-past to the
// end of the period that holds now+future. A zero bound is open.
type eventWindow struct {
	past, future time.Duration
}

// bounds are the first time in the window and the first after it, in
// now's location; zero where the window is open.
func (w eventWindow) bounds(u periodUnit, now time.Time) (lo, hi time.Time) {
	if w.past > 0 {
		lo = u.start(now.Add(-w.past))
	}
	if w.future > 0 {
		hi = u.end(now.Add(w.future))
	}
	return lo, hi
}

// periodEndOf reads the period from the digits that a file name holds in
// place of the template's tokens (in the template's order) and returns its
// end. ok is false when the template's tokens do not name one period
// (%Y, %Y%m, %Y%m%d or %Y%m%d%H, in any order and with any separators).
func periodEndOf(tokens []byte, digits []string, loc *time.Location) (end time.Time, ok bool) {
	if len(tokens) == 0 || len(digits) < len(tokens) {
		return time.Time{}, false
	}
	// The first value of each token; month and day default to 1.
	var has struct{ year, month, day, hour bool }
	year, month, day, hour := 0, 1, 1, 0
	finest := periodNone
	for i, tok := range tokens {
		n, err := strconv.Atoi(digits[i])
		if err != nil {
			return time.Time{}, false
		}
		switch tok {
		case 'Y':
			if !has.year {
				has.year, year = true, n
			}
		case 'm':
			if !has.month {
				has.month, month = true, n
			}
		case 'd':
			if !has.day {
				has.day, day = true, n
			}
		case 'H':
			if !has.hour {
				has.hour, hour = true, n
			}
		default:
			return time.Time{}, false
		}
		finest = max(finest, unitOf(tok))
	}
	// Every coarser token must be there: %m%d alone repeats every year.
	complete := has.year && (finest < periodMonth || has.month) && (finest < periodDay || has.day) && (finest < periodHour || has.hour)
	if !complete || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 {
		return time.Time{}, false
	}
	return finest.end(time.Date(year, time.Month(month), day, hour, 0, 0, 0, loc)), true
}
