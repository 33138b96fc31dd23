package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"slices"
	"strings"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// directMetrics reads an event's metrics object at depth, its opening
// brace at p.i, straight into the values metricValues makes of it, without
// the object map and the numbers' text. It takes only an object whose
// values are all numbers, numeric strings or null, each name once; for any
// other value ok is false and p.i is back at the brace, for the generic
// reading.
func (p *jsonParser) directMetrics(depth int) ([]metricValue, bool) {
	start := p.i
	if p.b[p.i] != '{' {
		return nil, false
	}
	var seenBuf [8]string
	var valueBuf [8]metricValue
	seen, values := seenBuf[:0], valueBuf[:0]
	ok := p.members(depth, func(key []byte) bool {
		if slices.Contains(seen, string(key)) {
			return false // a repeated name: the last one counts
		}
		name, known := internedStrings[string(key)]
		if !known {
			name = string(key)
		}
		seen = append(seen, name)
		var text []byte
		switch c := p.b[p.i]; {
		case c == 'n':
			return p.literal("null")
		case c == '"':
			b, ok := p.text()
			if !ok {
				return false
			}
			text = b
		case c == '-' || (c >= '0' && c <= '9'):
			b, ok := p.numberText()
			if !ok {
				return false
			}
			text = b
		default:
			return false
		}
		f, ok := entity.ParseNumber(string(text))
		if ok {
			values = append(values, metricValue{Name: name, Value: f})
		}
		return ok // what is not a number is kept as sent, by metricValues
	})
	if !ok {
		p.i = start
		return nil, false
	}
	hasDurationS := slices.Contains(seen, semconv.MetricKeyDurationS)
	out := make([]metricValue, 0, len(values))
	for _, m := range values {
		if m.Name == v1event.MetricDurationSeconds {
			if hasDurationS {
				continue
			}
			m.Name = semconv.MetricKeyDurationS
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b metricValue) int { return strings.Compare(a.Name, b.Name) })
	return out, true
}
