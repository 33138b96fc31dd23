package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// metricsEmitter hands the cumulative job metrics to the metrics pipeline
// every metrics_interval, and once more when the receiver shuts down: one
// pipeline call per interval whatever the request rate, none in a
// request's path. A series shows its new total at most one interval after
// the event that changed it.
type metricsEmitter struct {
	metrics  *cumulativeMetrics
	conv     *converter
	next     consumer.Metrics
	obsrep   *receiverhelper.ObsReport
	logger   *zap.Logger
	interval time.Duration
	now      func() time.Time

	// mu makes collections and their pipeline calls one at a time, so
	// that totals reach the pipeline in the order they were collected.
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

// start begins the periodic emission.
func (e *metricsEmitter) start() {
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.done)
		ticker := time.NewTicker(e.interval)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				_ = e.emit(context.Background())
			case <-e.stop:
				return
			}
		}
	}()
}

// shutdown stops the periodic emission and hands over what the last
// interval counted.
func (e *metricsEmitter) shutdown(ctx context.Context) error {
	if e.stop != nil {
		close(e.stop)
		<-e.done
		e.stop = nil
	}
	return e.emit(ctx)
}

// emit hands the series updated since the last emission to the pipeline.
// When the pipeline refuses them for now, the next emission sends them
// again, with their newer totals.
func (e *metricsEmitter) emit(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	md, collected := e.metrics.collect(e.conv, e.now())
	n := md.DataPointCount()
	if n == 0 {
		return nil
	}
	opCtx := e.obsrep.StartMetricsOp(ctx)
	err := e.next.ConsumeMetrics(opCtx, md)
	e.obsrep.EndMetricsOp(opCtx, metadata.Type.String(), n, err)
	switch {
	case err == nil:
	case consumererror.IsPermanent(err):
		e.logger.Warn("The metrics pipeline rejected the job metrics; their series are sent again when updated", zap.Int("data_points", n), zap.Error(err))
	default:
		e.metrics.requeue(collected)
		e.logger.Debug("The metrics pipeline refused the job metrics for now; they are sent again at the next interval", zap.Int("data_points", n), zap.Error(err))
	}
	return err
}
