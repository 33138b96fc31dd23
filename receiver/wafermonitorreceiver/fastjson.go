package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
	"slices"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// jsonParser decodes a body into exactly what encoding/json's Decoder with
// UseNumber makes of it (map[string]any, []any, string, json.Number, bool,
// nil; a repeated key keeps its last value; invalid UTF-8 and lone
// surrogates become U+FFFD; at most 10,000 nested levels), in about a third
// of its time, and refuses every body that encoding/json refuses
// (FuzzFastParse checks both against encoding/json).
//
// It is written here rather than taken from a JSON library because it also
// enforces max_batch_events while it decodes: the array that a batch's
// events are taken from (the top-level array, or the value of every
// top-level "events" key however it is escaped) stops at limit items, so a
// small body of many tiny items ("[{},{},…]" decodes to about 100 bytes an
// item) is refused before it is built, whatever duplicate keys precede it.
type jsonParser struct {
	b     []byte
	i     int
	limit int // most items in a batch's array
	// tooMany is set when a batch's array had more than limit items.
	tooMany bool
}

// maxJSONDepth is encoding/json's limit on nesting.
const maxJSONDepth = 10000

// internedStrings are the keys and values every event repeats: the parser
// returns these instead of allocating a copy of each, and internedValues
// the same strings already in an interface, as a value is returned.
var internedStrings = func() map[string]string {
	names := slices.Concat(v1event.FieldNames(), []string{
		semconv.EntityTypeJob, semconv.EntityTypeSubjob,
		semconv.KindStarted, semconv.KindProgress, semconv.KindMetric, semconv.KindFinished, semconv.KindError, semconv.KindCanceled,
		semconv.StatusRunning, semconv.StatusSucceeded, semconv.StatusFailed, semconv.StatusCanceled, "success", "in_progress",
		semconv.MetricKeyCPUUserS, semconv.MetricKeyCPUSystemS, semconv.MetricKeyMemMaxMB, semconv.MetricKeyDurationS,
	})
	m := make(map[string]string, len(names))
	for _, s := range names {
		m[s] = s
	}
	return m
}()

var internedValues = func() map[string]any {
	m := make(map[string]any, len(internedStrings))
	for s := range internedStrings {
		m[s] = s
	}
	return m
}()

// fastParse decodes body; ok is false when encoding/json would refuse it or
// when a batch's array has more than limit items (tooMany).
func fastParse(body []byte, limit int) (v any, ok, tooMany bool) {
	p := jsonParser{b: body, limit: limit}
	p.skipSpace()
	v, ok = p.value(0, true)
	if !ok {
		return nil, false, p.tooMany
	}
	p.skipSpace()
	return v, p.i == len(p.b), false
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value reads one value at nesting depth; batch tells that an array here
// holds a batch's events.
func (p *jsonParser) value(depth int, batch bool) (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth+1, batch)
	case c == '"':
		return p.stringValue()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *jsonParser) object(depth int) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // {
	m := map[string]any{}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.skipSpace()
		v, ok := p.value(depth, depth == 1 && key == v1event.FieldEvents)
		if !ok {
			return nil, false
		}
		m[key] = v
		if end, ok := p.separator('}'); !ok || end {
			return m, ok
		}
	}
}

func (p *jsonParser) array(depth int, batch bool) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // [
	a := []any{}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		if batch && len(a) == p.limit {
			p.tooMany = true
			return nil, false
		}
		v, ok := p.value(depth, false)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := p.separator(']'); !ok || end {
			return a, ok
		}
	}
}

// separator reads what follows a member: a comma (end false) or the
// closing bracket (end true).
func (p *jsonParser) separator(closing byte) (end, ok bool) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return false, false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		p.skipSpace()
		return false, true
	case closing:
		p.i++
		return true, true
	}
	return false, false
}

// number checks the JSON number grammar and keeps the literal, as UseNumber does.
func (p *jsonParser) number() (any, bool) {
	b, ok := p.numberText()
	if !ok {
		return nil, false
	}
	return json.Number(b), true
}

// numberText reads a number and returns its literal, a part of the body.
func (p *jsonParser) numberText() ([]byte, bool) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return nil, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !p.digits() {
			return nil, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, false
		}
	}
	return p.b[start:p.i], true
}

// digits reads one or more digits.
func (p *jsonParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
