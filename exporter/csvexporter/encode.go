package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// encoder turns records into whole lines of one format.
type encoder interface {
	// header is written at the start of every new file (nil for none).
	header() []byte
	// appendRow appends one complete row, line ending included.
	appendRow(buf []byte, r *record) []byte
}

// csvEncoder writes RFC 4180 rows. encoding/csv is not used because it
// rewrites line breaks inside fields (\n becomes \r\n and a lone \r is
// dropped with UseCRLF) and cannot take typed values without first
// allocating a []string per row.
type csvEncoder struct {
	cols    []column
	delim   string
	eol     string
	quoting *csvQuoting
	rows    *rowReader
	head    []byte
	// cell is reused by every column of every row.
	cell cell
}

const utf8BOM = "\xEF\xBB\xBF"

func newCSVEncoder(cols []column, cfg CSVConfig) *csvEncoder {
	e := &csvEncoder{cols: cols, delim: cfg.Delimiter, eol: "\r\n", quoting: newCSVQuoting(cfg.Delimiter), rows: newRowReader(cols)}
	if cfg.LineEnding == LineEndingLF {
		e.eol = "\n"
	}
	if cfg.BOM {
		e.head = append(e.head, utf8BOM...)
	}
	for i, c := range cols {
		if i > 0 {
			e.head = append(e.head, e.delim...)
		}
		e.head = e.appendField(e.head, c.name)
	}
	e.head = append(e.head, e.eol...)
	return e
}

func (e *csvEncoder) header() []byte { return e.head }

func (e *csvEncoder) appendRow(buf []byte, r *record) []byte {
	start := len(buf)
	c := &e.cell
	e.rows.load(r)
	defer e.rows.done()
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, e.delim...)
		}
		c.reset()
		e.rows.read(r, i, c)
		switch c.kind {
		case cellString, cellNumber:
			buf = e.quoting.appendBytes(buf, c.text)
		case cellValue:
			if c.v.Type() == pcommon.ValueTypeStr {
				buf = e.appendField(buf, c.v.Str())
				continue
			}
			c.text = appendText(c.text, c.v)
			buf = e.quoting.appendBytes(buf, c.text)
		}
	}
	if len(buf) == start {
		// An empty line is no row to most readers: quote the single empty field.
		buf = append(buf, '"', '"')
	}
	return append(buf, e.eol...)
}

func (e *csvEncoder) appendField(buf []byte, s string) []byte {
	return e.quoting.appendString(buf, s)
}

// csvQuoting writes fields, quoted when they hold the delimiter, a quote or
// a line break, with the quotes inside doubled. Invalid UTF-8 becomes U+FFFD.
type csvQuoting struct {
	delim string
	// special marks the bytes where a reason to quote may start: the quote,
	// CR, LF and the delimiter's first byte; one look-up a byte finds them.
	special [256]bool
}

func newCSVQuoting(delim string) *csvQuoting {
	q := &csvQuoting{delim: delim}
	q.special['"'], q.special['\r'], q.special['\n'] = true, true, true
	if delim == "" {
		// Every field holds the empty string.
		for c := range q.special {
			q.special[c] = true
		}
	} else {
		q.special[delim[0]] = true
	}
	return q
}

func (q *csvQuoting) appendString(buf []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return appendQuoted(buf, s, q)
}

func (q *csvQuoting) appendBytes(buf, s []byte) []byte {
	if !utf8.Valid(s) {
		return appendQuoted(buf, strings.ToValidUTF8(string(s), "\uFFFD"), q)
	}
	return appendQuoted(buf, s, q)
}

func appendQuoted[T string | []byte](buf []byte, s T, q *csvQuoting) []byte {
	if !needsQuotes(s, q) {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			buf = append(buf, s[start:i+1]...)
			buf = append(buf, '"')
			start = i + 1
		}
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

func needsQuotes[T string | []byte](s T, q *csvQuoting) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !q.special[c] {
			continue
		}
		if c == '"' || c == '\r' || c == '\n' || hasPrefixAt(s, i, q.delim) {
			return true
		}
	}
	return false
}

// hasPrefixAt reports whether s holds prefix at i.
func hasPrefixAt[T string | []byte](s T, i int, prefix string) bool {
	if len(s)-i < len(prefix) {
		return false
	}
	for k := 0; k < len(prefix); k++ {
		if s[i+k] != prefix[k] {
			return false
		}
	}
	return true
}

// appendText is a value as a CSV cell: numbers in decimal, maps and lists as
// compact JSON, bytes in base64.
func appendText(buf []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return append(buf, v.Str()...)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return append(buf, "NaN"...)
		case math.IsInf(f, 1):
			return append(buf, "Infinity"...)
		case math.IsInf(f, -1):
			return append(buf, "-Infinity"...)
		}
		return appendFloat(buf, f)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return appendJSON(buf, v)
	}
	return buf
}

// appendFloat writes a finite float the way encoding/json does: decimal
// notation, exponent only for very small or very large magnitudes.
func appendFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// jsonlEncoder writes one compact JSON object per line, keys in column order.
type jsonlEncoder struct {
	cols []column
	// keys are the column names as JSON strings followed by a colon.
	keys [][]byte
	rows *rowReader
	// cell is reused by every column of every row.
	cell cell
}

func newJSONLEncoder(cols []column) *jsonlEncoder {
	e := &jsonlEncoder{cols: cols, keys: make([][]byte, len(cols)), rows: newRowReader(cols)}
	for i, c := range cols {
		e.keys[i] = append(appendJSONString(nil, c.name), ':')
	}
	return e
}

func (e *jsonlEncoder) header() []byte { return nil }

func (e *jsonlEncoder) appendRow(buf []byte, r *record) []byte {
	buf = append(buf, '{')
	c := &e.cell
	e.rows.load(r)
	defer e.rows.done()
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.keys[i]...)
		c.reset()
		e.rows.read(r, i, c)
		switch c.kind {
		case cellEmpty:
			buf = append(buf, "null"...)
		case cellString:
			buf = appendJSONString(buf, c.text)
		case cellNumber:
			buf = append(buf, c.text...)
		case cellValue:
			buf = appendJSON(buf, c.v)
		}
	}
	return append(buf, '}', '\n')
}

// appendJSON writes a value as compact JSON with map keys sorted, so equal
// data always gives equal bytes. NaN and infinities, which JSON cannot
// express, become null.
func appendJSON(buf []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(buf, "null"...)
		}
		return appendFloat(buf, f)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
		return append(buf, '"')
	case pcommon.ValueTypeMap:
		m := v.Map()
		// The keys of small maps, the usual metadata, stay on the stack.
		var space [16]string
		keys := space[:0]
		for k := range m.All() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			item, _ := m.Get(k)
			buf = appendJSON(buf, item)
		}
		return append(buf, '}')
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		buf = append(buf, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, s.At(i))
		}
		return append(buf, ']')
	}
	return append(buf, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString[T string | []byte](buf []byte, s T) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// At most one rune's bytes: the conversion of a []byte then
		// needs no allocation.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
