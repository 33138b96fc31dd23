package csvexporter

// The row encoder as it was before rows were built without intermediate
// values, kept as the reference that the product's encoder must match byte
// for byte (TestRowsMatchTheReferenceEncoder, FuzzRowsMatchTheReferenceEncoder).

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/internal/entity"
)

// refFieldFunc reads a property of the record itself; ok is false when it has none.
type refFieldFunc func(r *record) (v pcommon.Value, ok bool)

// refEventFields are the fields of a log record.
var refEventFields = map[string]refFieldFunc{
	"timestamp": func(r *record) (pcommon.Value, bool) {
		return refTimestampValue(eventTime(r.log))
	},
	"observed_timestamp": func(r *record) (pcommon.Value, bool) {
		return refTimestampValue(r.log.ObservedTimestamp())
	},
	"event_name": func(r *record) (pcommon.Value, bool) {
		return refStringValue(r.log.EventName())
	},
	"severity": func(r *record) (pcommon.Value, bool) {
		return refStringValue(r.log.SeverityText())
	},
	"body": func(r *record) (pcommon.Value, bool) {
		if r.log.Body().Type() == pcommon.ValueTypeEmpty {
			return pcommon.Value{}, false
		}
		return r.log.Body(), true
	},
	"trace_id": func(r *record) (pcommon.Value, bool) {
		return refIdValue(r.log.TraceID())
	},
	"span_id": func(r *record) (pcommon.Value, bool) {
		return refIdValue(r.log.SpanID())
	},
}

// refEntityFields are the fields of a span.
var refEntityFields = map[string]refFieldFunc{
	"start_time": func(r *record) (pcommon.Value, bool) {
		return refTimestampValue(r.span.StartTimestamp())
	},
	"end_time": func(r *record) (pcommon.Value, bool) {
		return refTimestampValue(r.span.EndTimestamp())
	},
	"span_duration_s": func(r *record) (pcommon.Value, bool) {
		start, end := r.span.StartTimestamp(), r.span.EndTimestamp()
		if start == 0 || end < start {
			return pcommon.Value{}, false
		}
		return pcommon.NewValueDouble(time.Duration(end - start).Seconds()), true
	},
	"name": func(r *record) (pcommon.Value, bool) {
		return refStringValue(r.span.Name())
	},
	"status_code": func(r *record) (pcommon.Value, bool) {
		return refStringValue(r.span.Status().Code().String())
	},
	"status_message": func(r *record) (pcommon.Value, bool) {
		return refStringValue(r.span.Status().Message())
	},
	"trace_id": func(r *record) (pcommon.Value, bool) {
		return refIdValue(r.span.TraceID())
	},
	"span_id": func(r *record) (pcommon.Value, bool) {
		return refIdValue(r.span.SpanID())
	},
	"parent_span_id": func(r *record) (pcommon.Value, bool) {
		return refIdValue(r.span.ParentSpanID())
	},
}

// refColumn reads one cell of a row. A numeric attribute (entity.IsNumeric)
// is read as every component reads it: a numeric string is a number, a
// value that is no finite number an empty cell.
type refColumn struct {
	name    string
	attr    string
	field   refFieldFunc
	numeric bool
}

func (c *refColumn) value(r *record) (pcommon.Value, bool) {
	if c.field != nil {
		return c.field(r)
	}
	v, ok := r.attrs.Get(c.attr)
	if !ok {
		v, ok = r.resource.Get(c.attr)
	}
	if !ok || !c.numeric {
		return v, ok
	}
	return refNumberValue(v)
}

// refNumberValue is v as a number cell: ints and finite doubles as they are,
// a numeric string as its double.
func refNumberValue(v pcommon.Value) (pcommon.Value, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v, true
	case pcommon.ValueTypeDouble:
		_, ok := entity.Number(v)
		return v, ok
	}
	f, ok := entity.Number(v)
	if !ok {
		return pcommon.Value{}, false
	}
	return pcommon.NewValueDouble(f), true
}

// refBuildColumns resolves a validated output configuration.
func refBuildColumns(o OutputConfig, defaults []ColumnConfig, fields map[string]refFieldFunc) []refColumn {
	configured := o.Columns
	if configured == nil {
		configured = defaults
	}
	all := append(append([]ColumnConfig(nil), configured...), o.ExtraColumns...)
	cols := make([]refColumn, len(all))
	for i, c := range all {
		cols[i] = refColumn{name: c.Name, attr: c.Attribute, numeric: c.Field == "" && entity.IsNumeric(c.Attribute)}
		if c.Field != "" {
			cols[i].field = fields[c.Field]
		}
	}
	return cols
}

func refTimestampValue(ts pcommon.Timestamp) (pcommon.Value, bool) {
	if ts == 0 {
		return pcommon.Value{}, false
	}
	return pcommon.NewValueStr(refFormatTime(ts.AsTime())), true
}

// refFormatTime is RFC 3339 in UTC with as many fractional digits as needed.
func refFormatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func refStringValue(s string) (pcommon.Value, bool) {
	if s == "" {
		return pcommon.Value{}, false
	}
	return pcommon.NewValueStr(s), true
}

func refIdValue[T interface {
	IsEmpty() bool
	String() string
}](id T) (pcommon.Value, bool) {
	if id.IsEmpty() {
		return pcommon.Value{}, false
	}
	return pcommon.NewValueStr(id.String()), true
}

// refCsvEncoder writes RFC 4180 rows. encoding/csv is not used because it
// rewrites line breaks inside fields (\n becomes \r\n and a lone \r is
// dropped with UseCRLF) and cannot take typed values without first
// allocating a []string per row.
type refCsvEncoder struct {
	cols    []refColumn
	delim   string
	eol     string
	head    []byte
	scratch []byte
}

const refUtf8BOM = "\xEF\xBB\xBF"

func newRefCSVEncoder(cols []refColumn, cfg CSVConfig) *refCsvEncoder {
	e := &refCsvEncoder{cols: cols, delim: cfg.Delimiter, eol: "\r\n"}
	if cfg.LineEnding == LineEndingLF {
		e.eol = "\n"
	}
	if cfg.BOM {
		e.head = append(e.head, refUtf8BOM...)
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

func (e *refCsvEncoder) header() []byte { return e.head }

func (e *refCsvEncoder) appendRow(buf []byte, r *record) []byte {
	start := len(buf)
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, e.delim...)
		}
		v, ok := e.cols[i].value(r)
		if !ok {
			continue
		}
		if v.Type() == pcommon.ValueTypeStr {
			buf = e.appendField(buf, v.Str())
			continue
		}
		e.scratch = refAppendText(e.scratch[:0], v)
		buf = refAppendCSVBytes(buf, e.scratch, e.delim)
	}
	if len(buf) == start {
		// An empty line is no row to most readers: quote the single empty field.
		buf = append(buf, '"', '"')
	}
	return append(buf, e.eol...)
}

func (e *refCsvEncoder) appendField(buf []byte, s string) []byte {
	return refAppendCSVField(buf, s, e.delim)
}

// refAppendCSVField quotes a field when it holds the delimiter, a quote or a
// line break, doubling the quotes inside. Invalid UTF-8 becomes U+FFFD.
func refAppendCSVField(buf []byte, s, delim string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return refAppendQuoted(buf, s, delim)
}

func refAppendCSVBytes(buf, s []byte, delim string) []byte {
	if !utf8.Valid(s) {
		return refAppendQuoted(buf, strings.ToValidUTF8(string(s), "\uFFFD"), delim)
	}
	return refAppendQuoted(buf, s, delim)
}

func refAppendQuoted[T string | []byte](buf []byte, s T, delim string) []byte {
	quote := false
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		if len(delim) == 1 {
			for i := 0; i < len(s); i++ {
				if s[i] == delim[0] {
					quote = true
					break
				}
			}
		} else {
			quote = strings.Contains(string(s), delim)
		}
	}
	if !quote {
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

// refAppendText is a value as a CSV cell: numbers in decimal, maps and lists as
// compact JSON, bytes in base64.
func refAppendText(buf []byte, v pcommon.Value) []byte {
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
		return refAppendFloat(buf, f)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return refAppendJSON(buf, v)
	}
	return buf
}

// refAppendFloat writes a finite float the way encoding/json does: decimal
// notation, exponent only for very small or very large magnitudes.
func refAppendFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// refJsonlEncoder writes one compact JSON object per line, keys in refColumn order.
type refJsonlEncoder struct {
	cols []refColumn
	// keys are the refColumn names as JSON strings followed by a colon.
	keys [][]byte
}

func newRefJSONLEncoder(cols []refColumn) *refJsonlEncoder {
	e := &refJsonlEncoder{cols: cols, keys: make([][]byte, len(cols))}
	for i, c := range cols {
		e.keys[i] = append(refAppendJSONString(nil, c.name), ':')
	}
	return e
}

func (e *refJsonlEncoder) header() []byte { return nil }

func (e *refJsonlEncoder) appendRow(buf []byte, r *record) []byte {
	buf = append(buf, '{')
	for i := range e.cols {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e.keys[i]...)
		if v, ok := e.cols[i].value(r); ok {
			buf = refAppendJSON(buf, v)
		} else {
			buf = append(buf, "null"...)
		}
	}
	return append(buf, '}', '\n')
}

// refAppendJSON writes a value as compact JSON with map keys sorted, so equal
// data always gives equal bytes. NaN and infinities, which JSON cannot
// express, become null.
func refAppendJSON(buf []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return refAppendJSONString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(buf, "null"...)
		}
		return refAppendFloat(buf, f)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, v.Bytes().AsRaw())
		return append(buf, '"')
	case pcommon.ValueTypeMap:
		m := v.Map()
		keys := make([]string, 0, m.Len())
		m.Range(func(k string, _ pcommon.Value) bool {
			keys = append(keys, k)
			return true
		})
		sort.Strings(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = refAppendJSONString(buf, k)
			buf = append(buf, ':')
			item, _ := m.Get(k)
			buf = refAppendJSON(buf, item)
		}
		return append(buf, '}')
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		buf = append(buf, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = refAppendJSON(buf, s.At(i))
		}
		return append(buf, ']')
	}
	return append(buf, "null"...)
}

const refHexDigits = "0123456789abcdef"

// refAppendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func refAppendJSONString(buf []byte, s string) []byte {
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
				buf = append(buf, '\\', 'u', '0', '0', refHexDigits[c>>4], refHexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
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

// refResolve is the former pathTemplate.resolve.
func refResolve(t *pathTemplate, at time.Time) string {
	if !strings.Contains(t.stem, "%") {
		return t.stem
	}
	var b strings.Builder
	for i := 0; i < len(t.stem); i++ {
		c := t.stem[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		switch t.stem[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", at.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(at.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", at.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", at.Hour())
		case '%':
			b.WriteByte('%')
		}
	}
	return b.String()
}
