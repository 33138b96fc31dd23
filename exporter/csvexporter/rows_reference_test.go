package csvexporter

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// rowEncoders are the product's encoder and the reference one (reference_encode_test.go)
// of one configuration.
type rowEncoders struct {
	name     string
	enc, ref interface {
		header() []byte
		appendRow(buf []byte, r *record) []byte
	}
}

// awkwardColumns are every field of the signal, then attributes of every
// value type, numeric ones, one the records never hold and one twice.
func awkwardColumns(fields map[string]fieldFunc) []ColumnConfig {
	var cols []ColumnConfig
	for _, name := range fieldNames(fields) {
		cols = append(cols, ColumnConfig{Name: "f_" + name, Field: name})
	}
	for _, attr := range []string{
		semconv.AttrMetadata, semconv.AttrCPUUserS, semconv.AttrDurationS, semconv.AttrJobCPUUserSum,
		semconv.AttrExpectedSubjobs, semconv.AttrJobRollupComplete, semconv.AttrBusinessKey,
		"test.bytes", "test.slice", "test.bool", "test.int", "test.double", "test.absent", semconv.AttrSiteID,
	} {
		cols = append(cols, ColumnConfig{Name: attr, Attribute: attr})
	}
	return cols
}

// encoderPairs builds both encoders for the default columns and the awkward
// ones, in CSV with several delimiters and line endings, and in JSON Lines.
func encoderPairs(fields map[string]fieldFunc, refFields map[string]refFieldFunc, defaults []ColumnConfig) []rowEncoders {
	csvConfigs := []CSVConfig{
		{Delimiter: ",", LineEnding: LineEndingCRLF},
		{Delimiter: ";", LineEnding: LineEndingLF, BOM: true},
		{Delimiter: "\t", LineEnding: LineEndingCRLF},
		{Delimiter: "||", LineEnding: LineEndingLF},
		{Delimiter: ".", LineEnding: LineEndingLF},
	}
	var pairs []rowEncoders
	for ci, columns := range [][]ColumnConfig{nil, awkwardColumns(fields)} {
		o := OutputConfig{Columns: columns}
		cols, refCols := buildColumns(o, defaults, fields), refBuildColumns(o, defaults, refFields)
		for _, cc := range csvConfigs {
			pairs = append(pairs, rowEncoders{
				name: fmt.Sprintf("csv %q %s columns %d", cc.Delimiter, cc.LineEnding, ci),
				enc:  newCSVEncoder(cols, cc),
				ref:  newRefCSVEncoder(refCols, cc),
			})
		}
		pairs = append(pairs, rowEncoders{
			name: fmt.Sprintf("jsonl columns %d", ci),
			enc:  newJSONLEncoder(cols),
			ref:  newRefJSONLEncoder(refCols),
		})
	}
	return pairs
}

// putAwkward gives a record's attributes every value type and one of the
// entity rules' number cases.
func putAwkward(attrs pcommon.Map, n int) {
	c := entitytest.NumberCases[n%len(entitytest.NumberCases)]
	c.Set(attrs.PutEmpty(semconv.AttrCPUUserS))
	c.Set(attrs.PutEmpty(semconv.AttrJobCPUUserSum))
	c.Set(attrs.PutEmpty("test.double"))
	attrs.PutEmptyBytes("test.bytes").FromRaw([]byte{0, 1, 2, 0xff, byte(n)})
	_ = attrs.PutEmptySlice("test.slice").FromRaw([]any{"a,\"b\"", int64(n), 1.5e-7, true, nil, map[string]any{"z": 1, "a": "\n"}})
	attrs.PutBool("test.bool", n%2 == 0)
	attrs.PutInt("test.int", int64(-n))
	attrs.PutDouble(semconv.AttrDurationS, []float64{math.NaN(), math.Inf(1), 1e21, 1e-7, 0.1, -0}[n%6])
	attrs.PutStr(semconv.AttrExpectedSubjobs, []string{"12", " 3 ", "x", ""}[n%4])
}

// duplicateKeys is OTLP JSON whose attributes repeat keys, in the record
// and in its resource, as a decoder may pass them on: a column shows the
// record's first value, else the resource's first, as pcommon.Map.Get does.
const duplicateKeys = `{"resourceLogs":[{"resource":{"attributes":[
	{"key":"wafer.site.id","value":{"stringValue":"site-1"}},
	{"key":"wafer.site.id","value":{"stringValue":"site-2"}},
	{"key":"wafer.entity.type","value":{"stringValue":"from the resource"}},
	{"key":"wafer.metric.cpu_user_s","value":{"stringValue":"7"}}]},
 "scopeLogs":[{"logRecords":[{"timeUnixNano":"1760875200123456789","attributes":[
	{"key":"wafer.entity.type","value":{"stringValue":"job"}},
	{"key":"wafer.entity.type","value":{"stringValue":"subjob"}},
	{"key":"wafer.metric.cpu_user_s","value":{"stringValue":"x"}},
	{"key":"wafer.metric.cpu_user_s","value":{"doubleValue":2.5}}]}]}]}]}`

// corpusLogs are the log records of the v1 samples as the receiver and the
// jobhierarchy processor make them, the test events with every awkward
// character, and both again with attributes of every value type.
func corpusLogs(t *testing.T) []plog.Logs {
	logs, _ := v1Records(t)
	logs = append(logs, toLogs(sampleEvents()))
	dup, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs([]byte(duplicateKeys))
	require.NoError(t, err)
	require.Equal(t, 4, dup.ResourceLogs().At(0).Resource().Attributes().Len(), "the keys stay repeated")
	logs = append(logs, dup)
	n := len(logs)
	for i := 0; i < n; i++ {
		ld := plog.NewLogs()
		logs[i].CopyTo(ld)
		k := 0
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					putAwkward(lr.Attributes(), i+k)
					lr.SetSeverityText("WARN,\"x\"")
					k++
				}
			}
		}
		logs = append(logs, ld)
	}
	return logs
}

// corpusTraces are the spans made alike.
func corpusTraces(t *testing.T) []ptrace.Traces {
	_, traces := v1Records(t)
	traces = append(traces, toTraces(sampleEvents()))
	dup, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(strings.NewReplacer(
		"resourceLogs", "resourceSpans", "scopeLogs", "scopeSpans", "logRecords", "spans", "timeUnixNano", "endTimeUnixNano").Replace(duplicateKeys)))
	require.NoError(t, err)
	require.Equal(t, 4, dup.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len(), "the keys stay repeated")
	traces = append(traces, dup)
	n := len(traces)
	for i := 0; i < n; i++ {
		td := ptrace.NewTraces()
		traces[i].CopyTo(td)
		k := 0
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					putAwkward(span.Attributes(), i+k)
					span.Status().SetCode(ptrace.StatusCodeError)
					span.Status().SetMessage("failed; \"quoted\",\r\nnext")
					k++
				}
			}
		}
		traces = append(traces, td)
	}
	return traces
}

func assertSameRows(t *testing.T, pairs []rowEncoders, records []record) {
	t.Helper()
	for _, p := range pairs {
		require.Equal(t, string(p.ref.header()), string(p.enc.header()), p.name)
		for i := range records {
			want := string(p.ref.appendRow(nil, &records[i]))
			// Rows are appended after earlier ones, as in a batch.
			got := p.enc.appendRow([]byte("previous\n"), &records[i])
			assert.Equal(t, want, string(got[len("previous\n"):]), "%s, record %d", p.name, i)
		}
	}
}

// TestRowsMatchTheReferenceEncoder: for every record of the corpus, in
// every format, the rows are byte for byte those of the reference encoder.
func TestRowsMatchTheReferenceEncoder(t *testing.T) {
	t.Run("events", func(t *testing.T) {
		var records []record
		for _, ld := range corpusLogs(t) {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						records = append(records, record{resource: rl.Resource().Attributes(), attrs: lr.Attributes(), log: lr})
					}
				}
			}
		}
		require.Greater(t, len(records), 30)
		assertSameRows(t, encoderPairs(eventFields, refEventFields, defaultEventColumns), records)
	})
	t.Run("entities", func(t *testing.T) {
		var records []record
		for _, td := range corpusTraces(t) {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, span := range ss.Spans().All() {
						records = append(records, record{resource: rs.Resource().Attributes(), attrs: span.Attributes(), span: span})
					}
				}
			}
		}
		require.Greater(t, len(records), 15)
		assertSameRows(t, encoderPairs(entityFields, refEntityFields, defaultEntityColumns), records)
	})
}

// FuzzRowsMatchTheReferenceEncoder: whatever the values of a record, its
// event and entity rows are those of the reference encoder.
func FuzzRowsMatchTheReferenceEncoder(f *testing.F) {
	f.Add("lot-4711", 93.2, int64(3), []byte{1, 2}, uint64(1760875200123456000), uint64(1760875293323456000), []byte("0123456789abcdef"))
	f.Add("a,\"b\"\r\n東京\xff", math.Inf(-1), int64(-1), []byte{}, uint64(0), uint64(1), []byte{})
	f.Add(" 1e3 ", math.NaN(), int64(math.MaxInt64), []byte(nil), uint64(math.MaxUint64), uint64(0), []byte{0, 0, 0, 0, 0, 0, 0, 0})
	eventPairs := encoderPairs(eventFields, refEventFields, defaultEventColumns)
	entityPairs := encoderPairs(entityFields, refEntityFields, defaultEntityColumns)
	f.Fuzz(func(t *testing.T, s string, d float64, n int64, raw []byte, start, end uint64, id []byte) {
		var traceID [16]byte
		var spanID [8]byte
		copy(traceID[:], id)
		copy(spanID[:], id)
		res := pcommon.NewMap()
		res.PutStr(semconv.AttrServiceName, s)
		res.PutDouble(semconv.AttrCPUSystemS, d)
		res.PutStr(semconv.AttrSiteID, s)
		res.PutStr(semconv.AttrBusinessKey, "the record's value wins")
		attrs := pcommon.NewMap()
		attrs.PutStr(semconv.AttrEntityType, s)
		attrs.PutStr(semconv.AttrCPUUserS, s)
		attrs.PutStr(semconv.AttrBusinessKey, s)
		attrs.PutDouble(semconv.AttrDurationS, d)
		attrs.PutInt(semconv.AttrExpectedSubjobs, n)
		attrs.PutEmptyBytes(semconv.AttrErrorType).FromRaw(raw)
		attrs.PutDouble("test.double", d)
		_ = attrs.PutEmptyMap(semconv.AttrMetadata).FromRaw(map[string]any{s: d, "n": n, "list": []any{s, raw}})

		lr := plog.NewLogRecord()
		lr.SetTimestamp(pcommon.Timestamp(start))
		lr.SetObservedTimestamp(pcommon.Timestamp(end))
		lr.SetEventName(s)
		lr.SetSeverityText(s)
		lr.Body().SetStr(s)
		lr.SetTraceID(traceID)
		lr.SetSpanID(spanID)
		span := ptrace.NewSpan()
		span.SetStartTimestamp(pcommon.Timestamp(start))
		span.SetEndTimestamp(pcommon.Timestamp(end))
		span.SetName(s)
		span.Status().SetCode(ptrace.StatusCode(n & 3))
		span.Status().SetMessage(s)
		span.SetTraceID(traceID)
		span.SetSpanID(spanID)
		span.SetParentSpanID(spanID)

		for _, p := range eventPairs {
			r := record{resource: res, attrs: attrs, log: lr}
			require.Equal(t, string(p.ref.appendRow(nil, &r)), string(p.enc.appendRow(nil, &r)), p.name)
		}
		for _, p := range entityPairs {
			r := record{resource: res, attrs: attrs, span: span}
			require.Equal(t, string(p.ref.appendRow(nil, &r)), string(p.enc.appendRow(nil, &r)), p.name)
		}
	})
}

// TestFileNamesMatchTheReference: file names are those the former
// resolution gave, for years of any width, including negative ones.
func TestFileNamesMatchTheReference(t *testing.T) {
	times := []time.Time{time.Unix(0, 0), day1, pcommon.Timestamp(math.MaxUint64).AsTime()}
	for _, y := range []int{-12345, -1, 0, 7, 99, 999, 1000, 2025, 9999, 10000, 123456} {
		times = append(times, time.Date(y, time.Month(1+y%12*y%12), 1+y%28*y%28, y%24*y%24, 0, 0, 0, time.UTC))
	}
	for _, path := range []string{"ev_%Y%m%d.csv", "x_%H%%_%d-%m-%Y.jsonl", "plain.csv", "%Y%Y%m%m.csv", "a%%%%b_%H.csv"} {
		tmpl := parseTemplate(path)
		for _, at := range times {
			assert.Equal(t, refResolve(&tmpl, at), tmpl.resolve(at), "%s at %s", path, at)
		}
	}
}
