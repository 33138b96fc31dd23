package wafermonitorreceiver

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var samples = []struct {
	file  string
	batch bool
}{
	{"python-started.json", false},
	{"python-subjob-finished.json", false},
	{"python-job-failed.json", false},
	{"c-flat.json", false},
	{"java-camel.json", false},
	{"r-flat.json", false},
	{"business-app-nested-no-key.json", false},
	{"python-batch-array.json", true},
	{"sdk03-batch-object.json", true},
}

// TestConvertGolden compares each sample's logs, traces and metrics with the
// reviewed golden files (go test -run TestConvertGolden -update rewrites them).
func TestConvertGolden(t *testing.T) {
	c := converter{version: "test"}
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			events, prob := decodeBody(t, readSample(t, s.file), s.batch)
			require.Nil(t, prob)
			base := filepath.Join("testdata", "golden", strings.TrimSuffix(s.file, ".json"))

			logs := c.toLogs(events, receiveTime)
			traces, spans := c.toTraces(events)
			metrics := newCumulativeMetrics(defaultSeriesLimits, nil).recordCollect(&c, events, receiveTime)
			if *update {
				require.NoError(t, golden.WriteLogs(t, base+"-logs.yaml", logs))
				require.NoError(t, golden.WriteTraces(t, base+"-traces.yaml", traces))
				require.NoError(t, golden.WriteMetrics(t, base+"-metrics.yaml", metrics))
			}
			wantLogs, err := golden.ReadLogs(base + "-logs.yaml")
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(wantLogs, logs))

			wantTraces, err := golden.ReadTraces(base + "-traces.yaml")
			require.NoError(t, err)
			require.NoError(t, ptracetest.CompareTraces(wantTraces, traces))
			assert.Equal(t, traces.SpanCount(), spans)

			wantMetrics, err := golden.ReadMetrics(base + "-metrics.yaml")
			require.NoError(t, err)
			require.NoError(t, pmetrictest.CompareMetrics(wantMetrics, metrics,
				pmetrictest.IgnoreMetricDataPointsOrder(), pmetrictest.IgnoreMetricsOrder(),
				// the golden writer normalises timestamps; TestCumulativeMetricsAccumulate checks them
				pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp()))
		})
	}
}

// TestSubjobSpanIsChildOfJobSpan checks the ID mapping end to end: the job's
// trace ID is its UUID and the subjob's span hangs below the job's span.
func TestSubjobSpanIsChildOfJobSpan(t *testing.T) {
	c := converter{}
	var events []event
	for _, f := range []string{"python-job-failed.json", "python-subjob-finished.json"} {
		ev, prob := decodeBody(t, readSample(t, f), false)
		require.Nil(t, prob)
		events = append(events, ev...)
	}
	traces, n := c.toTraces(events)
	require.Equal(t, 2, n)
	spans := map[string]ptrace.Span{}
	rs := traces.ResourceSpans()
	for i := 0; i < rs.Len(); i++ {
		ss := rs.At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < ss.Len(); j++ {
			typ, _ := ss.At(j).Attributes().Get(semconv.AttrEntityType)
			spans[typ.Str()] = ss.At(j)
		}
	}
	job, sub := spans["job"], spans["subjob"]
	assert.Equal(t, "a1b2c3d4e5f647898abcdef012345678", job.TraceID().String())
	assert.Equal(t, job.TraceID(), sub.TraceID())
	assert.Equal(t, job.SpanID(), sub.ParentSpanID())
	assert.True(t, job.ParentSpanID().IsEmpty())
	assert.Equal(t, ptrace.SpanKindServer, job.Kind())
	assert.Equal(t, ptrace.SpanKindInternal, sub.Kind())
	assert.Equal(t, ptrace.StatusCodeError, job.Status().Code())
	assert.Equal(t, "overlay out of spec on wafer 07", job.Status().Message())
	// start = end - duration_s
	assert.Equal(t, pcommon.Timestamp(299876544000), job.EndTimestamp()-job.StartTimestamp())
}

// TestCumulativeMetricsAccumulate checks that totals grow across requests
// and keep their start time.
func TestCumulativeMetricsAccumulate(t *testing.T) {
	c := converter{}
	cm := newCumulativeMetrics(defaultSeriesLimits, nil)
	events, prob := decodeBody(t, readSample(t, "python-job-failed.json"), false)
	require.Nil(t, prob)
	first := cm.recordCollect(&c, events, receiveTime)
	second := cm.recordCollect(&c, events, receiveTime.Add(1e9))
	m1 := first.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	m2 := second.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < m1.Len(); i++ {
		if m1.At(i).Name() != semconv.MetricEntityCompleted {
			continue
		}
		p1 := m1.At(i).Sum().DataPoints().At(0)
		p2 := m2.At(i).Sum().DataPoints().At(0)
		assert.Equal(t, int64(1), p1.IntValue())
		assert.Equal(t, int64(2), p2.IntValue())
		assert.Equal(t, p1.StartTimestamp(), p2.StartTimestamp())
		assert.Greater(t, p2.Timestamp(), p1.Timestamp())
		return
	}
	t.Fatal("no completed metric")
}
