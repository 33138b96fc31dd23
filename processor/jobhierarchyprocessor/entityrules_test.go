package jobhierarchyprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// TestNumbersFollowTheEntityRules: a subjob's measurement counts in its
// job's roll-ups when every other component reads it as a number
// (entitytest.NumberCases), a numeric string included; what is no finite
// number counts for nothing.
func TestNumbersFollowTheEntityRules(t *testing.T) {
	for _, c := range entitytest.NumberCases {
		t.Run(c.Name, func(t *testing.T) {
			hs := newHarness(t, testConfig(), nil)
			td, spans := newSpans()
			jobASpan(spans, semconv.StatusSucceeded, base)
			addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: subA1, parent: jobA, status: semconv.StatusSucceeded, end: base})
			sub := spans.At(1).Attributes()
			c.Set(sub.PutEmpty(semconv.AttrCPUUserS))
			c.Set(sub.PutEmpty(semconv.AttrMemMaxMB))
			hs.consumeTraces(td)
			job := jobSpanOf(hs.allTraces(), jobA).Attributes().AsRaw()
			for _, attr := range []string{semconv.AttrJobCPUUserSum, semconv.AttrJobMemMaxMBMax} {
				got, ok := job[attr]
				assert.Equal(t, c.OK, ok, attr)
				if c.OK {
					assert.Equal(t, c.Want, got, attr)
				}
			}
		})
	}
}
