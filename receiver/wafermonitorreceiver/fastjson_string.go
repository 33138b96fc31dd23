package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// key reads an object's key.
func (p *jsonParser) key() (string, bool) {
	b, ok := p.text()
	if !ok {
		return "", false
	}
	if known, ok := internedStrings[string(b)]; ok {
		return known, true
	}
	return string(b), true
}

// stringValue reads a string value.
func (p *jsonParser) stringValue() (any, bool) {
	b, ok := p.text()
	if !ok {
		return nil, false
	}
	if known, ok := internedValues[string(b)]; ok {
		return known, true
	}
	return string(b), true
}

// text reads a string and unescapes it as encoding/json does: \u escapes
// (a surrogate pair as one rune, a lone surrogate as U+FFFD), and every byte
// of invalid UTF-8 as U+FFFD. Control characters and unknown escapes are
// refused. The result is the body's own bytes when nothing needed
// rewriting: the caller copies what it keeps.
func (p *jsonParser) text() ([]byte, bool) {
	p.i++ // opening quote
	start := p.i
	// The common case: no escape, valid UTF-8, the bytes as they are.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			return s, true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			p.i++
			continue
		}
		r, size := utf8.DecodeRune(p.b[p.i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		p.i += size
	}
	return p.unescape(start)
}

// unescape reads the rest of a string that needs rewriting, from start
// (just after the opening quote); p.i is at the first byte to rewrite.
func (p *jsonParser) unescape(start int) ([]byte, bool) {
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return buf, true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			if p.b[p.i+1] == 'u' {
				r, ok := p.unicodeEscape()
				if !ok {
					return nil, false
				}
				buf = utf8.AppendRune(buf, r)
				continue
			}
			e, ok := simpleEscape(p.b[p.i+1])
			if !ok {
				return nil, false
			}
			buf = append(buf, e)
			p.i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			buf = utf8.AppendRune(buf, r) // RuneError for an invalid byte
			p.i += size
		}
	}
	return nil, false
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// unicodeEscape reads \uXXXX at p.i, and a second one when the first is the
// high half of a surrogate pair.
func (p *jsonParser) unicodeEscape() (rune, bool) {
	r := hex4(p.b[p.i:])
	if r < 0 {
		return 0, false
	}
	p.i += 6
	if !utf16.IsSurrogate(r) {
		return r, true
	}
	if r2 := hex4(p.b[p.i:]); r2 >= 0 {
		if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
			p.i += 6
			return pair, true
		}
	}
	return unicode.ReplacementChar, true
}

// hex4 decodes \uXXXX at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
