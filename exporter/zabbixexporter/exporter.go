package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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

// maxLoggedKeys bounds the item keys listed when Zabbix reports failed values.
const maxLoggedKeys = 20

// earliestClock: values whose time is unknown or absurd are stamped with the
// send time instead.
var earliestClock = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// errItemsPending is returned, with the records concerned, while Zabbix
// creates the items of newly announced job types.
var errItemsPending = errors.New("waiting for Zabbix to create the items of newly discovered job types")

// zabbixExporter is shared by the logs, traces and metrics exporters of one
// configuration, so that they announce the same job types to Zabbix.
type zabbixExporter struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	conv *converter
	disc *discovery

	// metricsMu serialises metrics batches: their deltas are committed only
	// once delivered.
	metricsMu sync.Mutex
	deltas    *metricDeltas

	startOnce sync.Once
	startErr  error
	client    *zabbixsender.Client

	// Values of job types whose items are not there yet, by job type.
	heldMu    sync.Mutex
	held      map[jobType]*heldRow
	afterFunc func(time.Duration, func()) *time.Timer
	stopCtx   context.Context
	stop      context.CancelFunc
	stopCh    <-chan struct{}
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
	stopCtx, stop := context.WithCancel(context.Background())
	return &zabbixExporter{
		cfg:       cfg,
		logger:    set.Logger,
		telemetry: tb,
		now:       time.Now,
		conv:      conv,
		disc:      newDiscovery(cfg.Discovery),
		deltas:    newMetricDeltas(),
		held:      map[jobType]*heldRow{},
		afterFunc: time.AfterFunc,
		stopCtx:   stopCtx,
		stop:      stop,
		stopCh:    stopCtx.Done(),
	}, nil
}

func (e *zabbixExporter) start(ctx context.Context, _ component.Host) error {
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
	return e.deliver(ctx, units)
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
	return e.deliver(ctx, units)
}

// pushMetrics delivers a metrics batch as a whole: its values span several
// job types, and its deltas are committed only once delivered. While a job
// type's items cannot exist yet, the batch comes back through the retry.
func (e *zabbixExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	e.metricsMu.Lock()
	defer e.metricsMu.Unlock()
	values, rows, commit := e.conv.fromMetrics(md, e.deltas)
	if len(values) == 0 {
		commit()
		return nil
	}
	now := e.now()
	ready, announce, evicted := e.disc.plan(rows, now)
	e.countEvicted(ctx, evicted)
	out, announcements := e.announcements(announce, now)
	allReady := true
	for r := range rows {
		allReady = allReady && ready[r]
	}
	if allReady {
		ns := nsAllocator{}
		for _, v := range values {
			out = append(out, ns.assign(v, now))
		}
	}
	if err := e.send(ctx, out); err != nil {
		return err
	}
	e.markAnnounced(ctx, announcements, now)
	if !allReady {
		e.telemetry.ExporterZabbixValuesDeferred.Add(ctx, int64(len(values)))
		wait := time.Duration(0)
		for r := range rows {
			if d := e.disc.readyAt(r).Sub(now); d > wait {
				wait = d
			}
		}
		return exporterhelper.NewThrottleRetry(errItemsPending, wait)
	}
	commit()
	return nil
}

type announcement struct {
	host string
	rows []jobType
}

func (e *zabbixExporter) announcements(hosts []string, now time.Time) ([]zabbixsender.Value, []announcement) {
	var out []zabbixsender.Value
	var anns []announcement
	for _, host := range hosts {
		lld, rows := e.disc.announcement(host)
		out = append(out, zabbixsender.Value{Host: host, Key: e.cfg.Discovery.Key, Value: lld, Clock: now.Unix(), NS: now.Nanosecond()})
		anns = append(anns, announcement{host, rows})
	}
	return out, anns
}

func (e *zabbixExporter) markAnnounced(ctx context.Context, anns []announcement, now time.Time) {
	for _, a := range anns {
		e.disc.announced(a.host, a.rows, now)
		e.telemetry.ExporterZabbixDiscoverySent.Add(ctx, 1)
	}
}

func (e *zabbixExporter) countEvicted(_ context.Context, n int) {
	if n > 0 {
		e.logger.Debug("Forgot the least recently seen job types", zap.Int("count", n), zap.Int("max_job_types", e.cfg.Discovery.MaxJobTypes))
	}
}

// send delivers values with the configured timeout. Connection problems are
// retryable; a request the server refuses is not.
func (e *zabbixExporter) send(ctx context.Context, out []zabbixsender.Value) error {
	if len(out) == 0 {
		return nil
	}
	if e.client == nil {
		return errors.New("the zabbix exporter was not started")
	}
	if t := e.cfg.TimeoutConfig.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res, err := e.client.Send(ctx, out)
	e.record(ctx, res)
	if err != nil && errors.Is(err, zabbixsender.ErrRefused) {
		return consumererror.NewPermanent(err)
	}
	return err
}

// unitRow is the discovered job type of a unit (the values of one record or
// span), nil when it has none.
func unitRow(u []value) *jobType {
	for _, v := range u {
		if v.row != nil {
			return v.row
		}
	}
	return nil
}

// heldRow collects the values of a job type whose items Zabbix is still
// creating, to send them in time order once it can take them: Zabbix
// evaluates a trigger at the time of each arriving value, so a value that
// overtook an older one would be undone by it.
type heldRow struct {
	values   []value
	flushing bool
	done     chan struct{}
	err      error
}

// deliver announces new job types and sends the values of every unit whose
// items can exist; the others are held until they can, and deliver returns
// once they were sent, so that the queue keeps them until then.
func (e *zabbixExporter) deliver(ctx context.Context, units [][]value) error {
	now := e.now()
	rows := map[jobType]struct{}{}
	for _, u := range units {
		if r := unitRow(u); r != nil {
			rows[*r] = struct{}{}
		}
	}
	ready, announce, evicted := e.disc.plan(rows, now)
	e.countEvicted(ctx, evicted)
	out, announcements := e.announcements(announce, now)

	e.heldMu.Lock()
	var held [][]value
	ns := nsAllocator{}
	for _, u := range units {
		r := unitRow(u)
		if r != nil && (!ready[*r] || e.held[*r] != nil) {
			held = append(held, u)
			continue
		}
		for _, v := range u {
			out = append(out, ns.assign(v, now))
		}
	}
	e.heldMu.Unlock()

	if err := e.send(ctx, out); err != nil {
		return err
	}
	e.markAnnounced(ctx, announcements, now)
	if len(held) == 0 {
		return nil
	}

	// Hold the rest; wait for a flush in progress before sending after it.
	waits := map[chan struct{}]*heldRow{}
	var afterFlush [][]value
	e.heldMu.Lock()
	for _, u := range held {
		r := *unitRow(u)
		h := e.held[r]
		if h != nil && h.flushing {
			waits[h.done] = h
			afterFlush = append(afterFlush, u)
			continue
		}
		if h == nil {
			h = &heldRow{done: make(chan struct{})}
			e.held[r] = h
			wait := max(e.disc.readyAt(r).Sub(now), 0)
			e.afterFunc(wait, func() { e.flush(r) })
		}
		h.values = append(h.values, u...)
		waits[h.done] = h
		e.telemetry.ExporterZabbixValuesDeferred.Add(ctx, int64(len(u)))
	}
	e.heldMu.Unlock()

	var errs []error
	for done, h := range waits {
		select {
		case <-done:
			if h.err != nil {
				errs = append(errs, h.err)
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-e.stopCh:
			return errors.New("the zabbix exporter is shutting down")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(afterFlush) > 0 {
		return e.deliver(ctx, afterFlush)
	}
	return nil
}

// flush sends the held values of r, oldest first.
func (e *zabbixExporter) flush(r jobType) {
	e.heldMu.Lock()
	h := e.held[r]
	if h == nil {
		e.heldMu.Unlock()
		return
	}
	h.flushing = true
	values := h.values
	e.heldMu.Unlock()

	sort.SliceStable(values, func(i, j int) bool { return values[i].at.Before(values[j].at) })
	now := e.now()
	ns := nsAllocator{}
	out := make([]zabbixsender.Value, 0, len(values))
	for _, v := range values {
		out = append(out, ns.assign(v, now))
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(e.stopCtx, cancel)
	h.err = e.send(ctx, out)
	stop()
	cancel()

	e.heldMu.Lock()
	delete(e.held, r)
	e.heldMu.Unlock()
	close(h.done)
}

func (e *zabbixExporter) record(ctx context.Context, res zabbixsender.Result) {
	if res.Processed > 0 {
		e.telemetry.ExporterZabbixValuesProcessed.Add(ctx, int64(res.Processed))
	}
	if res.Failed == 0 {
		return
	}
	e.telemetry.ExporterZabbixValuesFailed.Add(ctx, int64(res.Failed))
	seen := map[string]bool{}
	var keys []string
	for _, k := range res.FailedKeys {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	more := 0
	if len(keys) > maxLoggedKeys {
		more = len(keys) - maxLoggedKeys
		keys = keys[:maxLoggedKeys]
	}
	e.logger.Warn("Zabbix did not accept some values; it does not say which. Check that each host exists, is linked to the wafermonitor template, and accepts trapper values from this collector (Allowed hosts, TLS).",
		zap.Int("failed", res.Failed),
		zap.Int("processed", res.Processed),
		zap.String("host_keys", strings.Join(keys, " ")),
		zap.Int("more_keys", more))
}

func (e *zabbixExporter) shutdown() {
	e.stop()
	e.telemetry.Shutdown()
}

// nsAllocator gives values of the same item and second distinct
// nanoseconds: Zabbix keeps only one value per item, clock and ns. The
// assignment depends only on the batch, so a retried batch gets the same
// timestamps and Zabbix drops what it already stored.
type nsAllocator map[string]map[int]struct{}

func (a nsAllocator) assign(v value, now time.Time) zabbixsender.Value {
	at := v.at
	if at.Before(earliestClock) {
		at = now
	}
	clock, ns := at.Unix(), at.Nanosecond()
	k := v.host + "\x00" + v.key + "\x00" + strconv.FormatInt(clock, 10)
	used := a[k]
	if used == nil {
		used = map[int]struct{}{}
		a[k] = used
	}
	for {
		if _, taken := used[ns]; !taken {
			break
		}
		ns = (ns + 1) % int(time.Second)
	}
	used[ns] = struct{}{}
	return zabbixsender.Value{Host: v.host, Key: v.key, Value: v.text, Clock: clock, NS: ns}
}
