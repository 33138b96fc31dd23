package webhookexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// TestNumbersFollowTheEntityRules: a measurement reads the same in the v1
// event, in a record and in a record's own-name attributes as in every
// other component (entitytest.NumberCases).
func TestNumbersFollowTheEntityRules(t *testing.T) {
	for _, c := range entitytest.NumberCases {
		t.Run(c.Name, func(t *testing.T) {
			res := pcommon.NewResource()
			lr := plog.NewLogRecord()
			lr.Attributes().PutStr(semconv.AttrEntityID, "e")
			lr.Attributes().PutStr(semconv.AttrEventKind, semconv.KindFinished)
			c.Set(lr.Attributes().PutEmpty(semconv.AttrCPUUserS))
			ev, _ := eventOf(res, lr)
			got, ok := ev.Event.Metrics[semconv.MetricKeyCPUUserS]
			assert.Equal(t, c.OK, ok, "v1 event")
			assert.Equal(t, c.Want, got, "v1 event")

			span := ptrace.NewSpan()
			span.Attributes().PutStr(semconv.AttrEntityID, "e")
			c.Set(span.Attributes().PutEmpty(semconv.AttrCPUUserS))
			c.Set(span.Attributes().PutEmpty(semconv.AttrJobCPUUserSum))
			c.Set(span.Attributes().PutEmpty(semconv.MetricPrefix + "wafers"))
			r, _, _ := recordOf(res, span)
			for _, name := range []string{"cpu_user_s", "subjobs_cpu_user_s_sum", semconv.MetricPrefix + "wafers"} {
				got, ok := r[name]
				assert.Equal(t, c.OK, ok, name)
				if c.OK {
					assert.InDelta(t, c.Want, got, 0, name)
				}
			}
		})
	}
}
