// Package entitytest holds the attribute values that every component reading
// wafermonitor data is tested with, and the reading each must make of them,
// so that the receiver, the jobhierarchy processor and the exporters are held
// to one set of rules (internal/entity).
package entitytest // import "github.com/wafermonitor/wafermonitor/internal/entity/entitytest"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// NumberCase is a value of a numeric attribute such as
// wafer.metric.cpu_user_s, and the number every component reads from it:
// Want when OK, no number at all when not OK.
type NumberCase struct {
	Name string
	// Set writes the value as an attribute holds it.
	Set func(pcommon.Value)
	// JSON is the value as a v1 client sends it in event.metrics; empty
	// for a value no JSON can hold (NaN, infinities).
	JSON string
	Want float64
	OK   bool
}

// NumberCases are the values every component is tested with.
var NumberCases = []NumberCase{
	{Name: "double", Set: func(v pcommon.Value) { v.SetDouble(1.25) }, JSON: `1.25`, Want: 1.25, OK: true},
	{Name: "int", Set: func(v pcommon.Value) { v.SetInt(3) }, JSON: `3`, Want: 3, OK: true},
	{Name: "zero", Set: func(v pcommon.Value) { v.SetDouble(0) }, JSON: `0`, Want: 0, OK: true},
	{Name: "negative", Set: func(v pcommon.Value) { v.SetDouble(-0.5) }, JSON: `-0.5`, Want: -0.5, OK: true},
	{Name: "numeric string", Set: func(v pcommon.Value) { v.SetStr("1.5") }, JSON: `"1.5"`, Want: 1.5, OK: true},
	{Name: "numeric string with spaces", Set: func(v pcommon.Value) { v.SetStr(" 2 ") }, JSON: `" 2 "`, Want: 2, OK: true},
	{Name: "exponent string", Set: func(v pcommon.Value) { v.SetStr("1e3") }, JSON: `"1e3"`, Want: 1000, OK: true},
	{Name: "NaN", Set: func(v pcommon.Value) { v.SetDouble(math.NaN()) }},
	{Name: "infinity", Set: func(v pcommon.Value) { v.SetDouble(math.Inf(1)) }},
	{Name: "minus infinity", Set: func(v pcommon.Value) { v.SetDouble(math.Inf(-1)) }},
	{Name: "NaN string", Set: func(v pcommon.Value) { v.SetStr("NaN") }, JSON: `"NaN"`},
	{Name: "Inf string", Set: func(v pcommon.Value) { v.SetStr("Inf") }, JSON: `"Inf"`},
	{Name: "beyond float64", Set: func(v pcommon.Value) { v.SetStr("1e999") }, JSON: `"1e999"`},
	{Name: "hexadecimal float", Set: func(v pcommon.Value) { v.SetStr("0x1p3") }, JSON: `"0x1p3"`},
	{Name: "digit separators", Set: func(v pcommon.Value) { v.SetStr("1_000") }, JSON: `"1_000"`},
	{Name: "text", Set: func(v pcommon.Value) { v.SetStr("abc") }, JSON: `"abc"`},
	{Name: "empty string", Set: func(v pcommon.Value) { v.SetStr("") }, JSON: `""`},
	{Name: "bool", Set: func(v pcommon.Value) { v.SetBool(true) }, JSON: `true`},
	{Name: "map", Set: func(v pcommon.Value) { v.SetEmptyMap().PutInt("a", 1) }, JSON: `{"a":1}`},
	{Name: "list", Set: func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetInt(1) }, JSON: `[1]`},
}
