package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// scheduleMetricsRefresh is how often the schedule series are sent when
// nothing changed: well within the 5 minutes after which the prometheus
// exporter drops a series it was not sent.
const scheduleMetricsRefresh = time.Minute

// metricsDue takes the schedule series when they changed or are due to be
// sent again; false when there is nothing to send.
func (ss *schedules) metricsDue(now time.Time, version string) (pmetric.Metrics, bool) {
	if ss == nil || (!ss.metricsChanged && now.Sub(ss.lastMetrics) < scheduleMetricsRefresh) {
		return pmetric.Metrics{}, false
	}
	ss.metricsChanged, ss.lastMetrics = false, now
	return ss.metrics(now, version), true
}

// metrics are the schedule series at now: missed slots (a cumulative
// counter that survives restarts with the state), the delay of the latest
// run's start, and when the last successful run ended, each by schedule
// name. A series without a value yet (no run, no success) is left out.
func (ss *schedules) metrics(now time.Time, version string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	sm.Scope().SetVersion(version)
	ts := pcommon.NewTimestampFromTime(now)

	missed := sm.Metrics().AppendEmpty()
	missed.SetName(semconv.MetricScheduleMissed)
	missed.SetDescription("Slots of the schedule that passed without a matching job starting within the grace period.")
	missed.SetUnit("{slot}")
	sum := missed.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)

	late := pmetric.NewMetric()
	late.SetName(semconv.MetricScheduleLateStart)
	late.SetDescription("How long after its slot the schedule's latest run started (0 when in time).")
	late.SetUnit("s")
	lateGauge := late.SetEmptyGauge()

	success := pmetric.NewMetric()
	success.SetName(semconv.MetricScheduleLastSuccess)
	success.SetDescription("When the schedule's last successful run ended, in Unix seconds.")
	success.SetUnit("s")
	successGauge := success.SetEmptyGauge()

	for _, s := range ss.list {
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr(semconv.MetricAttrSchedule, s.cfg.Name)
		dp.SetStartTimestamp(pcommon.Timestamp(s.st.CounterStart)) //nolint:gosec // nanoseconds until 2262
		dp.SetTimestamp(ts)
		dp.SetIntValue(s.st.Missed)
		if s.st.LateSlot != 0 {
			dp := lateGauge.DataPoints().AppendEmpty()
			dp.Attributes().PutStr(semconv.MetricAttrSchedule, s.cfg.Name)
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(s.st.LateS)
		}
		if s.st.LastSuccess != 0 {
			dp := successGauge.DataPoints().AppendEmpty()
			dp.Attributes().PutStr(semconv.MetricAttrSchedule, s.cfg.Name)
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(float64(s.st.LastSuccess) / 1e9)
		}
	}
	if lateGauge.DataPoints().Len() > 0 {
		late.MoveTo(sm.Metrics().AppendEmpty())
	}
	if successGauge.DataPoints().Len() > 0 {
		success.MoveTo(sm.Metrics().AppendEmpty())
	}
	return md
}

// emitMetrics sends the schedule series to the metrics pipeline.
func (h *hierarchy) emitMetrics(ctx context.Context, md pmetric.Metrics) {
	if h.nextMetrics == nil {
		h.logger.Debug("Dropping schedule metrics: the processor is in no metrics pipeline")
		return
	}
	if err := h.nextMetrics.ConsumeMetrics(ctx, md); err != nil {
		h.logger.Warn("The metrics pipeline refused the schedule metrics; they are sent again at the next change or within a minute", zap.Error(err))
		h.mu.Lock()
		h.schedules.metricsChanged = true
		h.mu.Unlock()
	}
}

// processMetrics passes metrics through: the processor is in the metrics
// pipeline to send the schedule series there.
func (h *hierarchy) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	return md, nil
}
