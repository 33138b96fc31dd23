package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
	"unicode/utf8"
)

// fastParse decodes the bodies clients send in practice into exactly what
// encoding/json's Decoder with UseNumber makes of them (map[string]any,
// []any, string, json.Number, bool, nil; a repeated key keeps its last
// value), in about a third of its time. It gives up (ok false) on
// everything it does not handle, the same way as encoding/json or not: \u
// escapes, invalid UTF-8 (which encoding/json replaces), deep nesting and
// every syntax error. parseJSON then decodes with encoding/json, which
// keeps its answers and its error messages.
func fastParse(body []byte) (v any, ok bool) {
	p := fastParser{b: body}
	p.skipSpace()
	v, ok = p.value(0)
	if !ok {
		return nil, false
	}
	p.skipSpace()
	return v, p.i == len(p.b)
}

// internedStrings are the keys and values every event repeats: the parser
// returns these instead of allocating a copy of each.
var internedStrings = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"idempotency_key", "site_id", "app", "app_id", "name", "version", "entity", "type", "id", "parent_id",
		"business_key", "sub_key", "event", "kind", "at", "status", "metrics", "metadata", "events",
		"cpu_user_s", "cpu_system_s", "mem_max_mb", "duration_s", "duration_seconds",
		"app_name", "app_version", "entity_type", "entity_id", "event_kind", "timestamp", "parent_job_id",
		"idempotencyKey", "siteId", "appId", "appName", "appVersion", "entityType", "entityId", "parentId",
		"parentJobId", "businessKey", "subKey", "eventKind",
		"job", "subjob", "started", "progress", "metric", "finished", "error", "canceled",
		"running", "succeeded", "failed", "success", "in_progress",
		"done", "total", "fraction", "message", "expected_subjobs", "error_type",
	} {
		m[s] = s
	}
	return m
}()

// maxFastDepth bounds the parser's recursion; deeper documents go to
// encoding/json.
const maxFastDepth = 64

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) value(depth int) (any, bool) {
	if p.i >= len(p.b) || depth > maxFastDepth {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.string()
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

func (p *fastParser) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *fastParser) object(depth int) (any, bool) {
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
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.skipSpace()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v
		if end, ok := p.separator('}'); !ok || end {
			return m, ok
		}
	}
}

func (p *fastParser) array(depth int) (any, bool) {
	p.i++ // [
	a := []any{}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return a, true
	}
	for {
		v, ok := p.value(depth + 1)
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
func (p *fastParser) separator(closing byte) (end, ok bool) {
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

// string reads a string whose escapes are all of one character; \u escapes
// and invalid UTF-8 are left to encoding/json.
func (p *fastParser) string() (any, bool) {
	p.i++ // opening quote
	start := p.i
	var buf []byte // only when there are escapes
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if buf != nil {
				s = append(buf, s...)
			}
			if known, ok := internedStrings[string(s)]; ok {
				return known, true
			}
			if !utf8.Valid(s) {
				return nil, false
			}
			return string(s), true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			var r byte
			switch p.b[p.i+1] {
			case '"', '\\', '/':
				r = p.b[p.i+1]
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			default:
				return nil, false
			}
			buf = append(append(buf, p.b[start:p.i]...), r)
			p.i += 2
			start = p.i
		case c < 0x20:
			return nil, false
		default:
			p.i++
		}
	}
	return nil, false
}

// number checks the JSON number grammar and keeps the literal, as UseNumber does.
func (p *fastParser) number() (any, bool) {
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
	return json.Number(p.b[start:p.i]), true
}

// digits reads one or more digits.
func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
