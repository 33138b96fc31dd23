package entity

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func TestResourceRoundTrip(t *testing.T) {
	res := pcommon.NewResource()
	r := Resource{ServiceName: "litho", ServiceVersion: "1.2", SiteID: "fab1", AppID: "a", AppIDOriginal: "my-app"}
	r.Fill(res)
	assert.Equal(t, r, ResourceFrom(res))

	empty := pcommon.NewResource()
	Resource{SiteID: "fab2"}.Fill(empty)
	assert.Equal(t, map[string]any{semconv.AttrServiceName: UnknownService, semconv.AttrSiteID: "fab2"}, empty.Attributes().AsRaw())
}

func TestRef(t *testing.T) {
	attrs := pcommon.NewMap()
	Ref{Type: semconv.EntityTypeSubjob, ID: "s", SubKey: "wafer-7"}.PutAttributes(attrs, semconv.StatusRunning)
	assert.Equal(t, map[string]any{
		semconv.AttrEntityType: "subjob", semconv.AttrEntityID: "s", semconv.AttrOrphan: true,
		semconv.AttrSubKey: "wafer-7", semconv.AttrStatus: "running",
	}, attrs.AsRaw())
	assert.True(t, Of(attrs).Orphan())

	full := Ref{Type: "subjob", ID: "s", ParentID: "p", BusinessKey: "lot", SubKey: "w", TypeOriginal: "WAFER", IDOriginal: "w-1", ParentIDOriginal: "job-1"}
	attrs = pcommon.NewMap()
	full.PutAttributes(attrs, semconv.StatusSucceeded)
	assert.Equal(t, full, Of(attrs).Ref())
	assert.Equal(t, semconv.StatusSucceeded, Of(attrs).Status())
	assert.False(t, Of(attrs).Orphan())

	tests := map[string]Ref{
		"job":                     {Type: "job"},
		"job lot-4711":            {Type: "job", BusinessKey: "lot-4711"},
		"subjob lot-4711/wafer-7": {Type: "subjob", BusinessKey: "lot-4711", SubKey: "wafer-7"},
		"subjob wafer-7":          {Type: "subjob", SubKey: "wafer-7"},
	}
	for want, ref := range tests {
		assert.Equal(t, want, ref.SpanName())
	}
	assert.True(t, Ref{Type: "job", ID: "j"}.IsEntity())
	assert.False(t, Ref{Type: "lot", ID: "j"}.IsEntity())
	assert.False(t, Ref{Type: "job"}.IsEntity())
}

// TestNumber: the shared cases, as the view reads them.
func TestNumber(t *testing.T) {
	for _, c := range entitytest.NumberCases {
		t.Run(c.Name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			c.Set(v)
			got, ok := Number(v)
			assert.Equal(t, c.OK, ok)
			if c.OK {
				assert.Equal(t, c.Want, got)
			}
			attrs := pcommon.NewMap()
			c.Set(attrs.PutEmpty(semconv.AttrCPUUserS))
			got, ok = Of(attrs).CPUUserS()
			assert.Equal(t, c.OK, ok)
			if c.OK {
				assert.Equal(t, c.Want, got)
			}
		})
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		name string
		set  func(pcommon.Value)
		want int64
		ok   bool
	}{
		{"int", func(v pcommon.Value) { v.SetInt(7) }, 7, true},
		{"whole double", func(v pcommon.Value) { v.SetDouble(7) }, 7, true},
		{"fraction", func(v pcommon.Value) { v.SetDouble(7.5) }, 0, false},
		{"NaN", func(v pcommon.Value) { v.SetDouble(math.NaN()) }, 0, false},
		{"beyond int64", func(v pcommon.Value) { v.SetDouble(1e19) }, 0, false},
		{"string", func(v pcommon.Value) { v.SetStr("12") }, 12, true},
		{"large string", func(v pcommon.Value) { v.SetStr("9007199254740993") }, 9007199254740993, true},
		{"whole string", func(v pcommon.Value) { v.SetStr("12.0") }, 12, true},
		{"fraction string", func(v pcommon.Value) { v.SetStr("12.5") }, 0, false},
		{"text", func(v pcommon.Value) { v.SetStr("twelve") }, 0, false},
		{"bool", func(v pcommon.Value) { v.SetBool(true) }, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			tt.set(v)
			got, ok := Int(v)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBoolAndText(t *testing.T) {
	tests := []struct {
		name      string
		set       func(pcommon.Value)
		text      string
		bool, isB bool
	}{
		{"bool", func(v pcommon.Value) { v.SetBool(false) }, "false", false, true},
		{"true string", func(v pcommon.Value) { v.SetStr("TRUE") }, "TRUE", true, true},
		{"false string", func(v pcommon.Value) { v.SetStr("false") }, "false", false, true},
		{"other string", func(v pcommon.Value) { v.SetStr("no") }, "no", false, false},
		{"int", func(v pcommon.Value) { v.SetInt(42) }, "42", false, false},
		{"double", func(v pcommon.Value) { v.SetDouble(1.5) }, "1.5", false, false},
		{"map", func(v pcommon.Value) { v.SetEmptyMap().PutStr("a", "b") }, "", false, false},
		{"empty", func(pcommon.Value) {}, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			tt.set(v)
			assert.Equal(t, tt.text, Text(v))
			b, ok := Bool(v)
			assert.Equal(t, tt.isB, ok)
			assert.Equal(t, tt.bool, b)
		})
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name, status, outcome string
		code                  ptrace.StatusCode
		view, span            string
	}{
		{"status", semconv.StatusFailed, "", ptrace.StatusCodeUnset, semconv.OutcomeFailure, semconv.OutcomeFailure},
		{"outcome wins", semconv.StatusFailed, semconv.OutcomeError, ptrace.StatusCodeUnset, semconv.OutcomeError, semconv.OutcomeError},
		{"client status", "done", "", ptrace.StatusCodeUnset, "", ""},
		{"span error", "", "", ptrace.StatusCodeError, "", semconv.OutcomeFailure},
		{"span ok", semconv.StatusRunning, "", ptrace.StatusCodeOk, "", semconv.OutcomeSuccess},
		{"status before span", semconv.StatusCanceled, "", ptrace.StatusCodeError, semconv.OutcomeCancellation, semconv.OutcomeCancellation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			if tt.status != "" {
				span.Attributes().PutStr(semconv.AttrStatus, tt.status)
			}
			Of(span.Attributes()).PutOutcome(tt.outcome)
			span.Status().SetCode(tt.code)
			assert.Equal(t, tt.view, Of(span.Attributes()).Outcome())
			assert.Equal(t, tt.span, SpanOutcome(span))
		})
	}
}

func TestSpanDuration(t *testing.T) {
	start := time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)
	span := ptrace.NewSpan()
	d, ok := SpanDuration(span)
	assert.False(t, ok, "no times, no attribute: %v", d)

	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Millisecond)))
	d, ok = SpanDuration(span)
	assert.True(t, ok)
	assert.InDelta(t, 1.5, d, 1e-9)

	span.Attributes().PutStr(semconv.AttrDurationS, "93.2")
	d, ok = SpanDuration(span)
	assert.True(t, ok)
	assert.Equal(t, 93.2, d)

	span.Attributes().PutDouble(semconv.AttrDurationS, math.NaN())
	d, _ = SpanDuration(span)
	assert.InDelta(t, 1.5, d, 1e-9, "a NaN duration is none: the span's times tell")

	span.SetEndTimestamp(span.StartTimestamp())
	_, ok = SpanDuration(span)
	assert.False(t, ok)
}

func TestDerivedKey(t *testing.T) {
	at := time.Unix(1700000000, 123)
	assert.Equal(t, "derived:e:finished:1700000000000000123", DerivedKey("e", semconv.KindFinished, at, ""))
	assert.Equal(t, "derived:e:finished:at=yesterday", DerivedKey("e", semconv.KindFinished, at, "yesterday"))

	attrs := pcommon.NewMap()
	attrs.PutStr(semconv.AttrEntityID, "e")
	v := Of(attrs)
	v.PutEvent(semconv.KindOther, "heartbeat", "")
	assert.Equal(t, "derived:e:heartbeat:1700000000000000123", v.DerivedKey(at))
	v.PutAtOriginal("0")
	assert.Equal(t, "derived:e:heartbeat:at=0", v.DerivedKey(at))
	assert.Empty(t, v.IdempotencyKey())
	assert.True(t, v.IsEvent())
}

func TestWritersLeaveOutWhatIsNotThere(t *testing.T) {
	attrs := pcommon.NewMap()
	v := Of(attrs)
	v.PutEvent(semconv.KindStarted, "", "k")
	v.PutAtOriginal("")
	v.PutOutcome("")
	v.PutJobOutcome("")
	v.PutError("", "")
	v.PutMetric(semconv.MetricKeyCPUUserS, math.NaN())
	v.PutMetric(semconv.MetricKeyMemMaxMB, math.Inf(1))
	v.PutMetric(semconv.MetricKeyDurationS, 2)
	v.PutProgress(Progress{})
	assert.Equal(t, map[string]any{
		semconv.AttrEventKind: "started", semconv.AttrIdempotencyKey: "k", semconv.AttrDurationS: 2.0,
	}, attrs.AsRaw())
	assert.Equal(t, semconv.KindStarted, v.SentKind())
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		p    Progress
		want map[string]any
	}{
		{"fraction from done and total", Progress{Done: 3, Total: 4, HasDone: true, HasTotal: true, Message: "m"}, map[string]any{
			semconv.AttrProgressDone: 3.0, semconv.AttrProgressTotal: 4.0, semconv.AttrProgressFraction: 0.75, semconv.AttrProgressMessage: "m",
		}},
		{"fraction sent", Progress{Done: 3, Total: 4, Fraction: 0.5, HasDone: true, HasTotal: true, HasFraction: true}, map[string]any{
			semconv.AttrProgressDone: 3.0, semconv.AttrProgressTotal: 4.0, semconv.AttrProgressFraction: 0.5,
		}},
		{"total zero", Progress{Done: 3, HasDone: true, HasTotal: true}, map[string]any{
			semconv.AttrProgressDone: 3.0, semconv.AttrProgressTotal: 0.0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			Of(attrs).PutProgress(tt.p)
			assert.Equal(t, tt.want, attrs.AsRaw())
		})
	}
}

func TestRollups(t *testing.T) {
	attrs := pcommon.NewMap()
	v := Of(attrs)
	assert.False(t, v.RolledUp())
	assert.True(t, v.RollupComplete())
	v.PutRollups(Rollups{Total: 3, Succeeded: 2, Failed: 1, Late: 0, CPUUserSum: 1.5, HasCPUUser: true, Incomplete: true})
	assert.Equal(t, map[string]any{
		semconv.AttrSubjobsTotal: int64(3), semconv.AttrSubjobsSucceeded: int64(2), semconv.AttrSubjobsFailed: int64(1),
		semconv.AttrSubjobsCanceled: int64(0), semconv.AttrSubjobsTimedOut: int64(0), semconv.AttrSubjobsOther: int64(0),
		semconv.AttrJobCPUUserSum: 1.5, semconv.AttrJobRollupComplete: false,
	}, attrs.AsRaw())
	assert.True(t, v.RolledUp())
	assert.False(t, v.RollupComplete())
	attrs.PutStr(semconv.AttrJobRollupComplete, "yes")
	assert.True(t, v.RollupComplete(), "what is no boolean does not say incomplete")

	for _, f := range RollupFields {
		assert.True(t, IsNumeric(f.Attr), f.Attr)
	}
	assert.True(t, IsNumeric(semconv.AttrCPUUserS))
	assert.True(t, IsNumeric(semconv.MetricPrefix+"wafers"))
	assert.True(t, IsNumeric(semconv.AttrScheduleLateS))
	assert.False(t, IsNumeric(semconv.AttrScheduleSlot))
	assert.False(t, IsNumeric(semconv.AttrMetricsUnparsed))
	assert.False(t, IsNumeric(semconv.AttrEntityID))
}

func TestMetrics(t *testing.T) {
	attrs := pcommon.NewMap()
	attrs.PutDouble(semconv.AttrCPUUserS, 1)
	attrs.PutStr(semconv.MetricPrefix+"wafers", "25")
	attrs.PutStr(semconv.MetricPrefix+"bad", "abc")
	attrs.PutDouble(semconv.MetricPrefix+"nan", math.NaN())
	attrs.PutDouble(semconv.MetricPrefix, 9)
	attrs.PutEmptyMap(semconv.AttrMetricsUnparsed).PutStr("bad", "abc")
	got := map[string]float64{}
	Of(attrs).Metrics(func(k string, f float64) { got[k] = f })
	assert.Equal(t, map[string]float64{semconv.MetricKeyCPUUserS: 1, "wafers": 25}, got)
	f, ok := Of(attrs).Metric("wafers")
	assert.True(t, ok)
	assert.Equal(t, 25.0, f)
}
