package jobhierarchyprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// requestMetrics is what the wafermonitor receiver emits for one request:
// its event counts and a completion with its duration histogram.
func requestMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	fillResource(rm.Resource())
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	for _, name := range []string{semconv.MetricEvents, semconv.MetricEntityCompleted} {
		sum := ms.AppendEmpty()
		sum.SetName(name)
		s := sum.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for _, kind := range []string{semconv.KindStarted, semconv.KindFinished} {
			dp := s.DataPoints().AppendEmpty()
			dp.Attributes().PutStr(semconv.AttrEntityType, semconv.EntityTypeJob)
			dp.Attributes().PutStr(semconv.AttrEventKind, kind)
			dp.SetIntValue(42)
		}
	}
	h := ms.AppendEmpty()
	h.SetName(semconv.MetricEntityDuration)
	dp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.ExplicitBounds().FromRaw([]float64{1, 10, 100, 1000})
	dp.BucketCounts().FromRaw([]uint64{0, 1, 2, 0, 0})
	return md
}

// BenchmarkMetricsPipeline: a request's metrics through the processor in
// the metrics pipeline of otelcol-config.yaml (passing them through, with a
// schedule configured), against its peer in the same run: a processorhelper
// processor that only passes them on, the least any processor in the
// pipeline costs. The processor adds nothing to that: the ratio of their
// ns/op is about 1.
func BenchmarkMetricsPipeline(b *testing.B) {
	ctx := context.Background()
	md := requestMetrics()
	run := func(b *testing.B, mp processor.Metrics) {
		require.NoError(b, mp.Start(ctx, componenttest.NewNopHost()))
		defer func() { require.NoError(b, mp.Shutdown(ctx)) }()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_ = mp.ConsumeMetrics(ctx, md)
		}
	}
	b.Run("pass_through_peer", func(b *testing.B) {
		mp, err := processorhelper.NewMetrics(ctx, processortest.NewNopSettings(metadata.Type), testConfig(), consumertest.NewNop(),
			func(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) { return md, nil },
			processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}))
		require.NoError(b, err)
		run(b, mp)
	})
	b.Run("jobhierarchy", func(b *testing.B) {
		cfg := testConfig()
		cfg.Schedules = []ScheduleConfig{everyMinute()}
		mp, err := NewFactory().CreateMetrics(ctx, processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(b, err)
		run(b, mp)
	})
}
