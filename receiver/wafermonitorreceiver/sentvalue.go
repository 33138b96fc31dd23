package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
)

// sentValue is a value of an event's field as the client sent it, for the
// fields read as text (ids, names, kind, time, status): a string or a
// number held as its text, without the interface a generic JSON value
// costs; any other value as decoded.
type sentValue struct {
	text string // a string, or a number as written
	kind sentKind
	raw  any // true, false, an object or a list (sentOther)
}

type sentKind uint8

const (
	sentNone sentKind = iota // absent or null
	sentString
	sentNumber
	sentOther
)

// sentValueOf is the sentValue of a generic JSON value.
func sentValueOf(v any) sentValue {
	switch t := v.(type) {
	case nil:
		return sentValue{}
	case string:
		return sentValue{text: t, kind: sentString}
	case json.Number:
		return sentValue{text: string(t), kind: sentNumber}
	}
	return sentValue{kind: sentOther, raw: v}
}

// generic is the value as a generic JSON value (the inverse of sentValueOf).
func (v sentValue) generic() any {
	switch v.kind {
	case sentString:
		return v.text
	case sentNumber:
		return json.Number(v.text)
	}
	return v.raw
}

// asText is the value taken as a string, whatever its JSON type (text).
func (v sentValue) asText() (string, bool) {
	switch v.kind {
	case sentNone:
		return "", false
	case sentString, sentNumber:
		return v.text, true
	}
	return text(v.raw)
}

// sentValue reads a value at depth as a sentValue. recent is the last
// string read for the same field of a request: the events of a batch mostly
// repeat their site, app and parent, which are then not copied again.
func (p *jsonParser) sentValue(depth int, recent *string) (sentValue, bool) {
	switch c := p.b[p.i]; {
	case c == '"':
		b, ok := p.text()
		if !ok {
			return sentValue{}, false
		}
		if string(b) == *recent {
			return sentValue{text: *recent, kind: sentString}, true
		}
		s, known := internedStrings[string(b)]
		if !known {
			s = string(b)
		}
		*recent = s
		return sentValue{text: s, kind: sentString}, true
	case c == '-' || (c >= '0' && c <= '9'):
		b, ok := p.numberText()
		return sentValue{text: string(b), kind: sentNumber}, ok
	case c == 'n':
		return sentValue{}, p.literal("null")
	}
	v, ok := p.value(depth, false)
	return sentValue{kind: sentOther, raw: v}, ok
}
