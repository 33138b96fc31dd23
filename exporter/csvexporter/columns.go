package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"encoding/hex"
	"slices"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// record is one log record or one span with its resource: what a row is made of.
type record struct {
	resource pcommon.Map
	attrs    pcommon.Map
	log      plog.LogRecord
	span     ptrace.Span
}

// cellKind is what a column holds in one row.
type cellKind uint8

const (
	cellEmpty  cellKind = iota
	cellValue           // cell.v: an attribute or the log body
	cellString          // cell.text: a string
	cellNumber          // cell.text: a finite number in decimal
)

// cell is one column of one row. What the record does not hold as a value
// (times, ids, durations, numbers read from strings) is written as text into
// a buffer reused from row to row, so that reading a row allocates nothing.
type cell struct {
	kind cellKind
	v    pcommon.Value
	text []byte
}

// reset empties the cell, keeping its buffer.
func (c *cell) reset() {
	c.kind, c.v, c.text = cellEmpty, pcommon.Value{}, c.text[:0]
}

// fieldFunc reads a property of the record itself into an empty cell; it
// leaves the cell empty when the record has none.
type fieldFunc func(r *record, c *cell)

// eventFields are the fields of a log record.
var eventFields = map[string]fieldFunc{
	"timestamp": func(r *record, c *cell) {
		timestampCell(c, eventTime(r.log))
	},
	"observed_timestamp": func(r *record, c *cell) {
		timestampCell(c, r.log.ObservedTimestamp())
	},
	"event_name": func(r *record, c *cell) {
		stringCell(c, r.log.EventName())
	},
	"severity": func(r *record, c *cell) {
		stringCell(c, r.log.SeverityText())
	},
	"body": func(r *record, c *cell) {
		if body := r.log.Body(); body.Type() != pcommon.ValueTypeEmpty {
			c.kind, c.v = cellValue, body
		}
	},
	"trace_id": func(r *record, c *cell) {
		id := r.log.TraceID()
		idCell(c, id[:])
	},
	"span_id": func(r *record, c *cell) {
		id := r.log.SpanID()
		idCell(c, id[:])
	},
}

// entityFields are the fields of a span.
var entityFields = map[string]fieldFunc{
	"start_time": func(r *record, c *cell) {
		timestampCell(c, r.span.StartTimestamp())
	},
	"end_time": func(r *record, c *cell) {
		timestampCell(c, r.span.EndTimestamp())
	},
	"span_duration_s": func(r *record, c *cell) {
		start, end := r.span.StartTimestamp(), r.span.EndTimestamp()
		if start == 0 || end < start {
			return
		}
		c.kind, c.text = cellNumber, appendFloat(c.text, time.Duration(end-start).Seconds())
	},
	"name": func(r *record, c *cell) {
		stringCell(c, r.span.Name())
	},
	"status_code": func(r *record, c *cell) {
		stringCell(c, r.span.Status().Code().String())
	},
	"status_message": func(r *record, c *cell) {
		stringCell(c, r.span.Status().Message())
	},
	"trace_id": func(r *record, c *cell) {
		id := r.span.TraceID()
		idCell(c, id[:])
	},
	"span_id": func(r *record, c *cell) {
		id := r.span.SpanID()
		idCell(c, id[:])
	},
	"parent_span_id": func(r *record, c *cell) {
		id := r.span.ParentSpanID()
		idCell(c, id[:])
	},
}

func fieldNames(fields map[string]fieldFunc) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// identityColumns name a row's site, application and entity.
var identityColumns = []ColumnConfig{
	{Name: "site_id", Attribute: semconv.AttrSiteID},
	{Name: "app_id", Attribute: semconv.AttrAppID},
	{Name: "app_name", Attribute: semconv.AttrServiceName},
	{Name: "app_version", Attribute: semconv.AttrServiceVersion},
	{Name: "entity_type", Attribute: semconv.AttrEntityType},
	{Name: "entity_id", Attribute: semconv.AttrEntityID},
	{Name: "parent_id", Attribute: semconv.AttrParentID},
	{Name: "business_key", Attribute: semconv.AttrBusinessKey},
	{Name: "sub_key", Attribute: semconv.AttrSubKey},
}

// measurementColumns are the standard metrics of an event or entity.
var measurementColumns = []ColumnConfig{
	{Name: "duration_s", Attribute: semconv.AttrDurationS},
	{Name: "cpu_user_s", Attribute: semconv.AttrCPUUserS},
	{Name: "cpu_system_s", Attribute: semconv.AttrCPUSystemS},
	{Name: "mem_max_mb", Attribute: semconv.AttrMemMaxMB},
}

// originalIDColumns show the ids a client sent that were not UUIDs
// ("job-123"), as the old sidecar's entity_id did; entity_id, parent_id and
// app_id hold the UUIDs the receiver derived from them, so that every row of
// an entity shares one id whatever the client sent. Empty for UUIDs. They
// come last, so that the columns before them keep their places.
var originalIDColumns = []ColumnConfig{
	{Name: "entity_id_original", Attribute: semconv.AttrEntityIDOriginal},
	{Name: "parent_id_original", Attribute: semconv.AttrParentIDOriginal},
	{Name: "app_id_original", Attribute: semconv.AttrAppIDOriginal},
}

// originalEventColumns show the kind and time a client sent when the
// receiver could not use them (event_kind is then "other", the timestamp
// the receive time), as the old sidecar stored them; empty otherwise. They
// come after the original ids, so that the columns before them keep their
// places.
var originalEventColumns = []ColumnConfig{
	{Name: "event_kind_original", Attribute: semconv.AttrEventKindOriginal},
	{Name: "at_original", Attribute: semconv.AttrEventAtOriginal},
}

// rollupColumns are the jobhierarchy processor's roll-ups, named as every
// output names them (entity.RollupFields).
func rollupColumns() []ColumnConfig {
	cols := make([]ColumnConfig, len(entity.RollupFields))
	for i, f := range entity.RollupFields {
		cols[i] = ColumnConfig{Name: f.Name, Attribute: f.Attr}
	}
	return cols
}

// defaultEventColumns are the old sidecar's event columns, in its order,
// then the original ids, kind and time.
var defaultEventColumns = slices.Concat(
	[]ColumnConfig{
		{Name: "timestamp", Field: "timestamp"},
		{Name: "idempotency_key", Attribute: semconv.AttrIdempotencyKey},
	},
	identityColumns,
	[]ColumnConfig{
		{Name: "event_kind", Attribute: semconv.AttrEventKind},
		{Name: "status", Attribute: semconv.AttrStatus},
	},
	measurementColumns,
	[]ColumnConfig{{Name: "metadata_json", Attribute: semconv.AttrMetadata}},
	originalIDColumns,
	originalEventColumns,
)

// defaultEntityColumns describe a finished job or subjob, then the roll-ups
// the jobhierarchy processor adds to a job (empty on subjobs), then the
// original ids.
var defaultEntityColumns = slices.Concat(
	[]ColumnConfig{
		{Name: "end_time", Field: "end_time"},
		{Name: "start_time", Field: "start_time"},
	},
	identityColumns,
	[]ColumnConfig{
		{Name: "status", Attribute: semconv.AttrStatus},
		{Name: "outcome", Attribute: semconv.AttrOutcome},
	},
	measurementColumns,
	[]ColumnConfig{
		{Name: "error_type", Attribute: semconv.AttrErrorType},
		{Name: "error_message", Attribute: semconv.AttrErrorMessage},
		{Name: "expected_subjobs", Attribute: semconv.AttrExpectedSubjobs},
		{Name: "job_outcome", Attribute: semconv.AttrJobOutcome},
		{Name: "rollup_complete", Attribute: semconv.AttrJobRollupComplete},
	},
	rollupColumns(),
	[]ColumnConfig{
		{Name: "subjob_late", Attribute: semconv.AttrSubjobLate},
		{Name: "trace_id", Field: "trace_id"},
		{Name: "span_id", Field: "span_id"},
		{Name: "metadata_json", Attribute: semconv.AttrMetadata},
	},
	originalIDColumns,
)

// column is one cell of a row: a field of the record or an attribute,
// read by rowReader. A numeric attribute (entity.IsNumeric) is read as
// every component reads it: a numeric string is a number, a value that is
// no finite number an empty cell.
type column struct {
	name    string
	attr    string
	field   fieldFunc
	numeric bool
}

// numberCell is v as a number cell: ints and finite doubles as they are,
// a numeric string as its double; empty for what is no finite number.
func numberCell(out *cell, v pcommon.Value) {
	f, ok := entity.Number(v)
	switch {
	case !ok:
	case v.Type() == pcommon.ValueTypeInt, v.Type() == pcommon.ValueTypeDouble:
		out.kind, out.v = cellValue, v
	default:
		out.kind, out.text = cellNumber, appendFloat(out.text, f)
	}
}

// buildColumns resolves a validated output configuration.
func buildColumns(o OutputConfig, defaults []ColumnConfig, fields map[string]fieldFunc) []column {
	configured := o.Columns
	if configured == nil {
		configured = defaults
	}
	all := append(append([]ColumnConfig(nil), configured...), o.ExtraColumns...)
	cols := make([]column, len(all))
	for i, c := range all {
		cols[i] = column{name: c.Name, attr: c.Attribute, numeric: c.Field == "" && entity.IsNumeric(c.Attribute)}
		if c.Field != "" {
			cols[i].field = fields[c.Field]
		}
	}
	return cols
}

// eventTime is the event's own time; a record without one is placed by when
// it was observed.
func eventTime(lr plog.LogRecord) pcommon.Timestamp {
	if ts := lr.Timestamp(); ts != 0 {
		return ts
	}
	return lr.ObservedTimestamp()
}

func timestampCell(c *cell, ts pcommon.Timestamp) {
	if ts == 0 {
		return
	}
	c.kind, c.text = cellString, appendTime(c.text, ts.AsTime())
}

// appendTime is RFC 3339 in UTC with as many fractional digits as needed.
func appendTime(buf []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(buf, time.RFC3339Nano)
}

func stringCell(c *cell, s string) {
	if s == "" {
		return
	}
	c.kind, c.text = cellString, append(c.text, s...)
}

// idCell is a trace or span id in lower-case hex; empty for the zero id.
func idCell(c *cell, id []byte) {
	for _, b := range id {
		if b != 0 {
			c.kind, c.text = cellString, hex.AppendEncode(c.text, id)
			return
		}
	}
}
