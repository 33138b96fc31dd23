package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// metricValues reads an event's metrics: numbers, and numeric strings
// ("1.5"), as values; anything else (a string that is not a number, an
// object, a boolean, a number beyond float64) is kept as sent in unparsed,
// and so is a metrics field that is not an object. null values are left
// out. duration_seconds (older clients) is taken as duration_s.
func metricValues(v any) (values []metricValue, unparsed any) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, v
	}
	values = make([]metricValue, 0, len(m))
	var other map[string]any
	_, hasDurationS := m[semconv.MetricKeyDurationS]
	for name, raw := range m {
		if raw == nil {
			continue
		}
		f, ok := metricNumber(raw)
		if !ok {
			if other == nil {
				other = map[string]any{}
			}
			other[name] = raw
			continue
		}
		if name == v1event.MetricDurationSeconds {
			if hasDurationS {
				continue
			}
			name = semconv.MetricKeyDurationS
		}
		values = append(values, metricValue{Name: name, Value: f})
	}
	slices.SortFunc(values, func(a, b metricValue) int { return strings.Compare(a.Name, b.Name) })
	if other != nil {
		return values, other
	}
	return values, nil
}

// metricNumber is a JSON number, or a string holding a decimal number, that
// is finite (entity.ParseNumber): a metric's value, or a number the contract
// gives a meaning in metadata.
func metricNumber(v any) (float64, bool) { return entity.ParseNumber(numericText(v)) }

// numericText is the text of what may be a number: a JSON number as
// written, a string as it is; "" for any other value.
func numericText(v any) string {
	switch t := v.(type) {
	case json.Number:
		return string(t)
	case string:
		return t
	}
	return ""
}

// metadataOf splits an event's metadata: an object, read for the fields
// the receiver interprets, or any other JSON value, kept as sent. An empty
// object is no metadata, as null is.
func metadataOf(v any) (obj map[string]any, other any) {
	if m, ok := v.(map[string]any); ok {
		if len(m) == 0 {
			return nil, nil
		}
		return m, nil
	}
	return nil, v
}
