package wafermonitorreceiver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestEventTimeWindow: times pdata cannot hold would wrap (9999-12-31
// would be written as 1816-03-30) or mean "no time" (1970-01-01): every
// time outside the window (after 1970, at most a day after the receive
// time) is the receive time, with the client's value kept as original.
func TestEventTimeWindow(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name     string
		at       any
		want     time.Time // zero: the receive time
		original string
	}{
		{"RFC 3339", "2025-10-19T12:00:00.5Z", time.Date(2025, 10, 19, 12, 0, 0, 5e8, time.UTC), ""},
		{"epoch seconds", json.Number("1729420000.25"), time.Unix(1729420000, 25e7).UTC(), ""},
		{"epoch milliseconds exact", json.Number("1700000000.123"), time.Unix(1700000000, 123e6).UTC(), ""},
		{"epoch past nanoseconds", json.Number("1700000000.1234567891"), time.Unix(1700000000, 123456789).UTC(), ""},
		{"epoch with exponent", json.Number("1.7e9"), time.Unix(1700000000, 0).UTC(), ""},
		{"a date alone is its midnight UTC", "2025-10-18", time.Date(2025, 10, 18, 0, 0, 0, 0, time.UTC), ""},
		{"fifteen years ago", receiveTime.Add(-15 * 365 * day).Format(time.RFC3339), receiveTime.Add(-15 * 365 * day), ""},
		{"a second after 1970", "1970-01-01T00:00:01Z", time.Unix(1, 0).UTC(), ""},
		{"23 hours ahead", receiveTime.Add(23 * time.Hour).Format(time.RFC3339), receiveTime.Add(23 * time.Hour), ""},
		{"year 9999", "9999-12-31T00:00:00Z", time.Time{}, "9999-12-31T00:00:00Z"},
		{"year 1", "0001-01-01T00:00:00Z", time.Time{}, "0001-01-01T00:00:00Z"},
		{"year 1, a date", "0001-01-01", time.Time{}, "0001-01-01"},
		{"epoch 99999999999 (year 5138)", json.Number("99999999999"), time.Time{}, "99999999999"},
		{"epoch in milliseconds", json.Number("1729420000000"), time.Time{}, "1729420000000"},
		{"1970-01-01, which pdata reads as no time", "1970-01-01T00:00:00Z", time.Time{}, "1970-01-01T00:00:00Z"},
		{"epoch 0", json.Number("0"), time.Time{}, "0"},
		{"negative epoch", json.Number("-1"), time.Time{}, "-1"},
		{"1e300 seconds", json.Number("1e300"), time.Time{}, "1e300"},
		{"before 1970", "1969-12-31T23:59:59Z", time.Time{}, "1969-12-31T23:59:59Z"},
		{"25 hours ahead", receiveTime.Add(25 * time.Hour).Format(time.RFC3339), time.Time{}, receiveTime.Add(25 * time.Hour).Format(time.RFC3339)},
		{"words", "yesterday", time.Time{}, "yesterday"},
		{"NaN", "NaN", time.Time{}, "NaN"},
		{"a boolean", true, time.Time{}, "true"},
		{"an object", map[string]any{"s": json.Number("1")}, time.Time{}, `{"s":1}`},
		{"null is no time", nil, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, original := eventTime(sentValueOf(tt.at), receiveTime)
			want := tt.want
			if want.IsZero() {
				want = receiveTime
			}
			assert.Equal(t, want, at)
			assert.Equal(t, tt.original, original)
		})
	}
}

// TestSpanStartBounded: a start computed from a huge duration is clamped:
// the duration to ten years, the start to after 1970 (duration_s 1e300
// would start the span in 1733).
func TestSpanStartBounded(t *testing.T) {
	end := receiveTime
	tenYears := end.Add(-maxSpanDuration)
	early := time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		end      time.Time
		duration float64
		want     time.Time
	}{
		{end, 3600, end.Add(-time.Hour)},
		{end, 0, end},
		{end, -5, end},
		{end, 1e10, tenYears},  // 317 years
		{end, 1e300, tenYears}, // would overflow time.Duration
		{end, maxSpanDuration.Seconds(), tenYears},
		{early, 1e300, earliestEventTime},
		{early, 6 * 365 * 86400, earliestEventTime},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, spanStart(tt.end, tt.duration), "end %v, duration %g", tt.end, tt.duration)
	}
}

// TestTimesThroughConversion: the log record and the span carry the
// clamped times; the original is an attribute.
func TestTimesThroughConversion(t *testing.T) {
	for _, at := range []string{`"9999-12-31T00:00:00Z"`, `"0001-01-01T00:00:00Z"`, `99999999999`, `"1970-01-01T00:00:00Z"`} {
		body := `{"site_id":"fab1","app":{},"entity":{"type":"job","id":"` + looseJobID + `"},"event":{"kind":"finished","at":` + at + `,"metrics":{"duration_s":1e300}}}`
		e, c := convertLoose(t, body)
		assert.Equal(t, receiveTime, c.rec.Timestamp().AsTime(), at)
		assert.Equal(t, receiveTime, c.span.EndTimestamp().AsTime(), at)
		assert.Equal(t, receiveTime.Add(-maxSpanDuration), c.span.StartTimestamp().AsTime(), at)
		assert.NotEmpty(t, c.log["wafer.event.at.original"], at)
		assert.Equal(t, 1e300, c.log["wafer.metric.duration_s"], "duration_s stays as sent")
		assert.Equal(t, "derived:"+looseJobID+":finished:at="+e.AtOriginal, e.IdempotencyKey, "a retry derives the same key")
	}
}
