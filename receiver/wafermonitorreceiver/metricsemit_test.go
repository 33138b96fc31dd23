package wafermonitorreceiver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// emitMetrics hands the metrics counted so far to the sink, as the next
// interval would.
func (ts *testServer) emitMetrics(t *testing.T) {
	t.Helper()
	require.NoError(t, ts.recv.emitter.emit(context.Background()))
}

// startedTotal is the latest wafer.events total of started events in the
// metrics the sink received, and how many pipeline calls carried it.
func startedTotal(sink *consumertest.MetricsSink) (total int64, calls int) {
	for _, md := range sink.AllMetrics() {
		eachDataPoint(md, semconv.MetricEvents, func(p pmetric.NumberDataPoint) {
			if k, _ := p.Attributes().Get(semconv.AttrEventKind); k.Str() == semconv.KindStarted {
				total = p.IntValue()
				calls++
			}
		})
	}
	return total, calls
}

func eachDataPoint(md pmetric.Metrics, name string, fn func(pmetric.NumberDataPoint)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if m := ms.At(k); m.Name() == name {
					for p := 0; p < m.Sum().DataPoints().Len(); p++ {
						fn(m.Sum().DataPoints().At(p))
					}
				}
			}
		}
	}
}

// TestMetricsOncePerInterval: whatever the number of requests, the metrics
// pipeline gets one call per interval with the totals, and none when
// nothing was counted.
func TestMetricsOncePerInterval(t *testing.T) {
	ts := startServer(t, serverOptions{})
	for i := range 20 {
		require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, i)).code)
	}
	assert.Empty(t, ts.metrics.AllMetrics())
	ts.emitMetrics(t)
	total, calls := startedTotal(ts.metrics)
	assert.Equal(t, int64(20), total)
	assert.Equal(t, 1, calls)
	ts.emitMetrics(t)
	assert.Len(t, ts.metrics.AllMetrics(), 1, "nothing new, no call")
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, 20)).code)
	ts.emitMetrics(t)
	total, calls = startedTotal(ts.metrics)
	assert.Equal(t, int64(21), total, "cumulative")
	assert.Equal(t, 2, calls)
}

// TestMetricsEveryInterval: the receiver emits on its own, every
// metrics_interval (the test waits for it, whatever the machine's speed).
func TestMetricsEveryInterval(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) { c.MetricsInterval = 10 * time.Millisecond }})
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, 1)).code)
	waitCondition(t, "the metrics of the event", func() bool {
		total, _ := startedTotal(ts.metrics)
		return total == 1
	})
}

// TestMetricsEmittedAtShutdown: what the last interval counted reaches the
// pipeline when the receiver stops.
func TestMetricsEmittedAtShutdown(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "127.0.0.1:0"
	cfg.MetricsInterval = time.Hour
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	r.nextMetrics = sink
	r.now = func() time.Time { return receiveTime }
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	r.metrics.record([]event{startedAt("fab1"), startedAt("fab1")}, receiveTime)
	require.NoError(t, r.Shutdown(context.Background()))
	total, calls := startedTotal(sink)
	assert.Equal(t, int64(2), total)
	assert.Equal(t, 1, calls)
}

// settableErr is an error a test sets and clears while the receiver runs.
type settableErr struct {
	mu  sync.Mutex
	err error
}

func (r *settableErr) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *settableErr) current() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// refusingMetrics refuses every call while its error is set.
type refusingMetrics struct {
	consumertest.MetricsSink
	settableErr
}

func (m *refusingMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	if err := m.current(); err != nil {
		return err
	}
	return m.MetricsSink.ConsumeMetrics(ctx, md)
}

var _ consumer.Metrics = (*refusingMetrics)(nil)

// TestMetricsRefusedAreSentAgain: the requests are not refused when the
// metrics pipeline is; the series it refused for now go out again at the
// next interval with their newer totals. Rejected for good, they go out
// again when they change.
func TestMetricsRefusedAreSentAgain(t *testing.T) {
	next := &refusingMetrics{}
	e := &metricsEmitter{metrics: newCumulativeMetrics(defaultSeriesLimits, nil), conv: &converter{}, next: next,
		obsrep: nopObsReport(t), logger: zap.NewNop(), now: func() time.Time { return receiveTime }}
	e.metrics.record([]event{startedAt("a"), startedAt("b")}, receiveTime)
	next.setErr(errors.New("memory limit"))
	require.Error(t, e.emit(context.Background()))
	e.metrics.record([]event{startedAt("a")}, receiveTime)
	next.setErr(nil)
	require.NoError(t, e.emit(context.Background()))
	require.Len(t, next.AllMetrics(), 1)
	points := eventsPoints(next.AllMetrics()[0])
	assert.Equal(t, int64(2), points["a"].IntValue())
	assert.Equal(t, int64(1), points["b"].IntValue(), "b was refused, not updated since, and sent again")

	next.setErr(consumererror.NewPermanent(errors.New("bad data")))
	e.metrics.record([]event{startedAt("a"), startedAt("b")}, receiveTime)
	require.Error(t, e.emit(context.Background()))
	next.setErr(nil)
	require.NoError(t, e.emit(context.Background()))
	assert.Len(t, next.AllMetrics(), 1, "rejected for good: not sent again until updated")
	e.metrics.record([]event{startedAt("b")}, receiveTime)
	require.NoError(t, e.emit(context.Background()))
	require.Len(t, next.AllMetrics(), 2)
	points = eventsPoints(next.AllMetrics()[1])
	assert.Equal(t, int64(3), points["b"].IntValue())
	assert.NotContains(t, points, "a")
}

// TestMetricsCountEachAcceptedEventOnce: a request the logs pipeline
// refused is retried by its client; the metrics count its events once,
// when they are accepted.
func TestMetricsCountEachAcceptedEventOnce(t *testing.T) {
	logs := &refusingLogs{}
	ts := startServer(t, serverOptions{logs: logs})
	logs.setErr(errors.New("memory limit"))
	body := uniqueEvent(t, 1)
	require.Equal(t, http.StatusServiceUnavailable, ts.post(t, "/v1/event", body).code)
	logs.setErr(nil)
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", body).code)
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", body).code, "a duplicate")
	ts.emitMetrics(t)
	total, _ := startedTotal(ts.metrics)
	assert.Equal(t, int64(1), total)
}

// refusingLogs refuses every call while its error is set.
type refusingLogs struct {
	consumertest.LogsSink
	settableErr
}

func (l *refusingLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if err := l.current(); err != nil {
		return err
	}
	return l.LogsSink.ConsumeLogs(ctx, ld)
}

func nopObsReport(t *testing.T) *receiverhelper.ObsReport {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: component.MustNewID("wafermonitor"), Transport: "http",
		ReceiverCreateSettings: receivertest.NewNopSettings(metadata.Type),
	})
	require.NoError(t, err)
	return obsrep
}
