package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
)

// errItemsPending is returned, with the records concerned, while Zabbix
// creates the items of newly announced job types, or refuses values of job
// types whose items it may still be creating.
var errItemsPending = errors.New("waiting for Zabbix to create the items of newly discovered job types")

// errValuesRejected: Zabbix refused every value of the batch for longer
// than max_refused_time.
var errValuesRejected = errors.New("values refused by Zabbix for longer than discovery::max_refused_time were dropped (see the warning logged with their job type)")

// zabbixExporter is shared by the logs, traces and metrics exporters of one
// configuration, so that they announce the same job types to Zabbix.
type zabbixExporter struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	conv   *converter
	jobs   *jobTypes
	gather *gather

	// metricsMu serialises metrics batches: their deltas are committed only
	// once delivered.
	metricsMu sync.Mutex
	deltas    *metricDeltas

	startOnce sync.Once
	startErr  error
	client    *zabbixsender.Client

	signalsMu sync.Mutex
	signals   map[string]bool
}

func newExporter(cfg *Config, set exporter.Settings) (*zabbixExporter, error) {
	conv, err := newConverter(cfg)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	conv.running.capped = func() { tb.ExporterZabbixRunningEntitiesDropped.Add(context.Background(), 1) }
	return &zabbixExporter{
		cfg:       cfg,
		logger:    set.Logger,
		telemetry: tb,
		now:       time.Now,
		conv:      conv,
		jobs:      newJobTypes(cfg.Discovery),
		gather:    newGather(cfg.Discovery.MaxHeldValues, settledTTL(cfg)),
		deltas:    newMetricDeltas(),
		signals:   map[string]bool{},
	}, nil
}

// usedBy records that a pipeline of signal sends through the core, and
// warns once when a logs and a traces pipeline both do: a finished entity
// is then a terminal event and a span, two events whose values Zabbix
// stores both.
func (e *zabbixExporter) usedBy(signal string, logger *zap.Logger) {
	e.signalsMu.Lock()
	defer e.signalsMu.Unlock()
	first := !e.signals[signal]
	e.signals[signal] = true
	if first && e.signals["logs"] && e.signals["traces"] {
		logger.Warn("The zabbix exporter is in a logs and a traces pipeline: Zabbix stores the values of every finished job and subjob twice, from its terminal event and from its span, and counts it twice. Remove it from the traces pipeline: the logs pipeline sends everything the traces pipeline does.")
	}
}

// settledTTL is how long settled values are remembered: longer than any
// batch that carried them takes to come back through the retry, also when
// it waits for its job type's triggers.
func settledTTL(cfg *Config) time.Duration {
	return max(time.Minute, 2*cfg.RetryConfig.MaxInterval+cfg.TimeoutConfig.Timeout) + cfg.Discovery.TriggerDelay
}

// Start builds the client; only the first call does.
func (e *zabbixExporter) Start(ctx context.Context, _ component.Host) error {
	e.startOnce.Do(func() {
		tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
		if err != nil {
			e.startErr = fmt.Errorf("tls: %w", err)
			return
		}
		e.client, e.startErr = zabbixsender.New(zabbixsender.Config{
			Endpoints:           e.cfg.Endpoints,
			TLS:                 tlsCfg,
			Compress:            e.cfg.Compress,
			MaxValuesPerRequest: e.cfg.MaxValuesPerRequest,
			ConnectTimeout:      e.cfg.ConnectTimeout,
			Now:                 e.now,
		})
	})
	return e.startErr
}

// Shutdown releases the telemetry; nothing waits in the core.
func (e *zabbixExporter) Shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
}

func (e *zabbixExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	var units [][]value
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := rl.Resource().Attributes()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				units = append(units, e.conv.fromLog(res, lrs.At(k)))
			}
		}
	}
	d := e.deliver(ctx, units)
	return d.result(len(units), func(err error) error { return consumererror.NewLogs(err, logsSubset(ld, d.pending)) })
}

func (e *zabbixExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	var units [][]value
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := rs.Resource().Attributes()
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				units = append(units, e.conv.fromSpan(res, spans.At(k)))
			}
		}
	}
	d := e.deliver(ctx, units)
	return d.result(len(units), func(err error) error { return consumererror.NewTraces(err, tracesSubset(td, d.pending)) })
}

// pushMetrics delivers a metrics batch as a whole: its values span several
// job types, and its deltas are committed only once delivered. While a job
// type's items cannot exist yet, the batch comes back through the retry.
func (e *zabbixExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	e.metricsMu.Lock()
	defer e.metricsMu.Unlock()
	values, commit := e.conv.fromMetrics(md, e.deltas)
	var d delivery
	if len(values) > 0 {
		d = e.deliver(ctx, [][]value{values})
	}
	if len(d.pending) == 0 {
		if n := commit(); n > 0 {
			e.telemetry.ExporterZabbixMetricSeriesForgotten.Add(ctx, int64(n))
		}
	}
	return d.result(1, func(err error) error { return err })
}

// result is the error for the exporter helper: nil when every unit was
// delivered or given up (the job types' state reports what was given up),
// a permanent error when every unit was given up or Zabbix refused a
// request as a whole, else a retryable error carrying the pending units
// (partial).
func (d delivery) result(units int, partial func(error) error) error {
	switch {
	case d.err != nil && errors.Is(d.err, zabbixsender.ErrRefused):
		return consumererror.NewPermanent(d.err)
	case len(d.pending) == 0 && d.rejected == units && units > 0:
		return consumererror.NewPermanent(errValuesRejected)
	case len(d.pending) == 0:
		return nil
	case d.err != nil:
		return partial(d.err)
	case d.wait > 0:
		return partial(exporterhelper.NewThrottleRetry(errItemsPending, d.wait))
	default:
		return partial(errItemsPending)
	}
}

// send delivers values and records Zabbix's answer. The exporter helper's
// timeout bounds the attempt.
func (e *zabbixExporter) send(ctx context.Context, out []zabbixsender.Value) (zabbixsender.Result, error) {
	if len(out) == 0 {
		return zabbixsender.Result{}, nil
	}
	if e.client == nil {
		return zabbixsender.Result{}, errors.New("the zabbix exporter was not started")
	}
	res, err := e.client.Send(ctx, out)
	if res.Processed > 0 {
		e.telemetry.ExporterZabbixValuesProcessed.Add(ctx, int64(res.Processed))
	}
	if res.Failed > 0 {
		e.telemetry.ExporterZabbixValuesFailed.Add(ctx, int64(res.Failed))
	}
	return res, err
}
