package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The window of event times taken as sent, around the receive time: a
// spool replayed years later is still in it, and so is a client whose
// clock or time zone is a day off; 9999-12-31, 0001-01-01, 0 (1970) and an
// epoch in milliseconds are not. pdata holds nanoseconds since 1970 in an
// int64 (the years 1678 to 2262): a time outside the window would wrap
// or be taken for "no time" (0). An event whose time is outside the window
// gets the receive time, and keeps what the client sent as original.
const (
	maxEventAge    = 10 * 365 * 24 * time.Hour
	maxEventFuture = 24 * time.Hour
)

type timeWindow struct{ earliest, latest time.Time }

func windowAround(now time.Time) timeWindow {
	return timeWindow{earliest: now.Add(-maxEventAge), latest: now.Add(maxEventFuture)}
}

func (w timeWindow) contains(t time.Time) bool {
	return !t.Before(w.earliest) && !t.After(w.latest)
}

var timestampLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
}

var utcTimestampLayouts = [...]string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// eventTime reads RFC 3339 (offset optional: UTC; a date alone is its
// midnight UTC), or Unix epoch seconds as a number or numeric string.
// Missing or null: the receive time. Anything unreadable, or outside the
// window around the receive time: the receive time, and the client's value
// as original.
func eventTime(v any, now time.Time) (at time.Time, original string) {
	if v == nil {
		return now, ""
	}
	w := windowAround(now)
	if t, ok := parseTime(v, w); ok && w.contains(t) {
		return t, ""
	}
	s, _ := text(v)
	return now, bound(s)
}

func parseTime(v any, w timeWindow) (time.Time, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		return epochSeconds(string(t), w)
	case string:
		s = strings.TrimSpace(t)
	default:
		return time.Time{}, false
	}
	if ts, ok := epochSeconds(s, w); ok {
		return ts, true
	}
	for _, layout := range timestampLayouts {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UTC(), true
		}
	}
	for _, layout := range utcTimestampLayouts {
		if ts, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return ts, true
		}
	}
	return time.Time{}, false
}

// epochSeconds reads Unix seconds, fractions allowed, when they fall in the
// window (checked before the conversion to nanoseconds can overflow).
func epochSeconds(s string, w timeWindow) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < float64(w.earliest.Unix()) || f > float64(w.latest.Unix()) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}

// spanStart is end minus the duration a client reported, no earlier than
// the window around the receive time (a duration_s of 1e300 would wrap).
func spanStart(end time.Time, durationS float64, received time.Time) time.Time {
	if !(durationS > 0) {
		return end
	}
	earliest := windowAround(received).earliest
	if end.Before(earliest) || durationS >= end.Sub(earliest).Seconds() {
		return earliest
	}
	return end.Add(-time.Duration(durationS * float64(time.Second)))
}
