package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The window of event times taken as sent: after 1970-01-01T00:00:00Z and
// at most a day after the receive time. pdata holds times as nanoseconds
// since 1970 (0 meaning "no time") and Go's time.UnixNano as an int64 (up to
// 2262): a time before 1970 or far in the future would wrap (9999-12-31
// would be written as 1816-03-30) or be taken for "no time". A spool
// replayed years later is in the window; a client whose clock or time zone
// is a day off too. An event whose time is outside it gets the receive
// time, and keeps what the client sent as original.
const maxEventFuture = 24 * time.Hour

// earliestEventTime is the first time after "no time".
var earliestEventTime = time.Unix(0, 1).UTC()

// maxSpanDuration bounds the duration a span's start is computed from (a
// duration_s of 1e300 would overflow): no job runs for ten years.
const maxSpanDuration = 3650 * 24 * time.Hour

type timeWindow struct{ earliest, latest time.Time }

func windowAround(now time.Time) timeWindow {
	return timeWindow{earliest: earliestEventTime, latest: now.Add(maxEventFuture)}
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
func eventTime(v sentValue, now time.Time) (at time.Time, original string) {
	if v.kind == sentNone {
		return now, ""
	}
	w := windowAround(now)
	if t, ok := parseTime(v, w); ok && w.contains(t) {
		return t, ""
	}
	s, _ := v.asText()
	return now, bound(s)
}

func parseTime(v sentValue, w timeWindow) (time.Time, bool) {
	var s string
	switch v.kind {
	case sentNumber:
		return epochSeconds(v.text, w)
	case sentString:
		s = strings.TrimSpace(v.text)
	default:
		return time.Time{}, false
	}
	// A number never has a colon; a timestamp's text nearly always does,
	// and is not read as a number first (a failed reading allocates).
	if strings.IndexByte(s, ':') < 0 {
		if ts, ok := epochSeconds(s, w); ok {
			return ts, true
		}
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
	if err != nil || math.IsNaN(f) || f <= 0 || f > float64(w.latest.Unix()) {
		return time.Time{}, false
	}
	if ts, ok := decimalSeconds(s); ok {
		return ts, true
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}

// decimalSeconds reads plain decimal seconds ("1700000000.123") digit by
// digit, so that the fraction is exact: through a float64, .123 would become
// .122999906. Digits past nanoseconds are dropped. ok is false for any other
// form (exponents, signs), which the float reading then takes.
func decimalSeconds(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || !allDigits(whole) || !allDigits(frac) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			nsec += int64(frac[i] - '0')
		}
	}
	return time.Unix(sec, nsec).UTC(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// spanStart is end minus the duration a client reported, the duration at
// most maxSpanDuration and the start no earlier than earliestEventTime.
func spanStart(end time.Time, durationS float64) time.Time {
	if !(durationS > 0) {
		return end
	}
	d := maxSpanDuration
	if durationS < maxSpanDuration.Seconds() {
		d = time.Duration(durationS * float64(time.Second))
	}
	if start := end.Add(-d); start.After(earliestEventTime) {
		return start
	}
	return earliestEventTime
}
