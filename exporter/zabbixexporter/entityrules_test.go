package zabbixexporter

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// itemValues are the values of one item among vs, by item name.
func itemValues(vs []value, item string) []string {
	var out []string
	for _, v := range vs {
		if strings.HasPrefix(v.key, item+"[") {
			out = append(out, v.text)
		}
	}
	return out
}

// TestNumbersFollowTheEntityRules: a measurement reads the same in the
// Zabbix items of an event and of a span as in every other component
// (entitytest.NumberCases); what is no finite number sends no value.
func TestNumbersFollowTheEntityRules(t *testing.T) {
	c, err := newConverter(createDefaultConfig().(*Config))
	require.NoError(t, err)
	res := pcommon.NewMap()
	res.PutStr(semconv.AttrServiceName, "litho")
	for _, tc := range entitytest.NumberCases {
		t.Run(tc.Name, func(t *testing.T) {
			var want []string
			if tc.OK {
				want = []string{formatFloat(tc.Want)}
			}
			lr := plog.NewLogRecord()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)))
			lr.Attributes().PutStr(semconv.AttrEntityType, semconv.EntityTypeSubjob)
			lr.Attributes().PutStr(semconv.AttrEntityID, "s")
			lr.Attributes().PutStr(semconv.AttrEventKind, semconv.KindFinished)
			tc.Set(lr.Attributes().PutEmpty(semconv.AttrCPUUserS))
			tc.Set(lr.Attributes().PutEmpty(semconv.AttrDurationS))
			out := c.fromLog(res, lr)
			assert.Equal(t, want, itemValues(out, itemCPUUser), "event")
			assert.Equal(t, want, itemValues(out, itemDuration), "event")

			span := ptrace.NewSpan()
			span.Attributes().PutStr(semconv.AttrEntityType, semconv.EntityTypeSubjob)
			span.Attributes().PutStr(semconv.AttrEntityID, "s")
			tc.Set(span.Attributes().PutEmpty(semconv.AttrCPUUserS))
			assert.Equal(t, want, itemValues(c.fromSpan(res, span), itemCPUUser), "span")
		})
	}
}

// TestNoNaNFromMetrics: a histogram whose sum is no finite number sends no
// value (Zabbix would turn the item unsupported).
func TestNoNaNFromMetrics(t *testing.T) {
	c, err := newConverter(createDefaultConfig().(*Config))
	require.NoError(t, err)
	for _, sum := range []float64{math.NaN(), math.Inf(1), 2.5} {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(semconv.MetricEntityCPUUser)
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutStr(semconv.AttrEntityType, semconv.EntityTypeJob)
		dp.SetCount(1)
		dp.SetSum(sum)
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)))
		values, _ := c.fromMetrics(md, newMetricDeltas())
		var want []string
		if sum == 2.5 {
			want = []string{"2.5"}
		}
		assert.Equal(t, want, itemValues(values, itemCPUUser), "sum %v", sum)
	}
}
