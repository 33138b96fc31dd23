package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// ParseNumber reads a number sent as text ("1.5", " 2 ", "1e3"): decimal
// notation only, finite. Go's hexadecimal floats and digit separators
// ("0x1p3", "1_000") are no numbers a client means; "NaN", "Inf" and values
// beyond float64 ("1e999") are refused, since no backend can hold them.
func ParseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(f) {
		return 0, false
	}
	return f, true
}

// ParseInt reads a whole number sent as text ("12", "12.0"); a fraction is
// no whole number.
func ParseInt(s string) (int64, bool) {
	if i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return i, true
	}
	f, ok := ParseNumber(s)
	if !ok {
		return 0, false
	}
	return wholeNumber(f)
}

// Number reads a value as a number: a finite double, an int, or a numeric
// string (ParseNumber).
func Number(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f := v.Double()
		return f, finite(f)
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		return ParseNumber(v.Str())
	}
	return 0, false
}

// Int reads a value as a whole number: an int, or a double or numeric
// string holding one (2.0, "2"); 2.5 is none.
func Int(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return wholeNumber(v.Double())
	case pcommon.ValueTypeStr:
		return ParseInt(v.Str())
	}
	return 0, false
}

// Bool reads a value as a boolean: a bool, or the string "true" or "false"
// in any case.
func Bool(v pcommon.Value) (value, ok bool) {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool(), true
	case pcommon.ValueTypeStr:
		switch s := strings.TrimSpace(v.Str()); {
		case strings.EqualFold(s, "true"):
			return true, true
		case strings.EqualFold(s, "false"):
			return false, true
		}
	}
	return false, false
}

// Text reads a value as text: a string as it is, an int, a double or a bool
// as written; a map, a list, bytes or nothing are no text.
func Text(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString()
	}
	return ""
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// wholeNumber is f as an int64 when f is a whole number in its range.
func wholeNumber(f float64) (int64, bool) {
	if !finite(f) || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// numericAttributes are the attributes besides the measurements
// (semconv.MetricPrefix) whose values are numbers.
var numericAttributes = func() map[string]bool {
	m := map[string]bool{
		semconv.AttrExpectedSubjobs: true,
		semconv.AttrProgressDone:    true, semconv.AttrProgressTotal: true, semconv.AttrProgressFraction: true,
		semconv.AttrWatchdogSilenceS: true, semconv.AttrWatchdogRunningS: true, semconv.AttrWatchdogLimitS: true,
		semconv.AttrScheduleGraceS: true, semconv.AttrScheduleLateS: true,
	}
	for _, f := range RollupFields {
		m[f.Attr] = true
	}
	return m
}()

// IsNumeric tells the attributes whose values are numbers: an output that
// shows one reads it with Number's rules.
func IsNumeric(attr string) bool {
	return numericAttributes[attr] || strings.HasPrefix(attr, semconv.MetricPrefix)
}
