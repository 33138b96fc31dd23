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
	return &zabbixExporter{
		cfg:       cfg,
		logger:    set.Logger,
		telemetry: tb,
		now:       time.Now,
		conv:      conv,
		disc:      newDiscovery(cfg.Discovery),
		deltas:    newMetricDeltas(),
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
	deferred, wait, err := e.deliver(ctx, units)
	if err != nil || len(deferred) == 0 {
		return err
	}
	pending := plog.NewLogs()
	n := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		var prl plog.ResourceLogs
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			var psl plog.ScopeLogs
			for k := 0; k < sl.LogRecords().Len(); k++ {
				if !deferred[n] {
					n++
					continue
				}
				n++
				if prl == (plog.ResourceLogs{}) {
					prl = pending.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(prl.Resource())
					prl.SetSchemaUrl(rl.SchemaUrl())
				}
				if psl == (plog.ScopeLogs{}) {
					psl = prl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(psl.Scope())
					psl.SetSchemaUrl(sl.SchemaUrl())
				}
				sl.LogRecords().At(k).CopyTo(psl.LogRecords().AppendEmpty())
			}
		}
	}
	return consumererror.NewLogs(exporterhelper.NewThrottleRetry(errItemsPending, wait), pending)
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
	deferred, wait, err := e.deliver(ctx, units)
	if err != nil || len(deferred) == 0 {
		return err
	}
	pending := ptrace.NewTraces()
	n := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		var prs ptrace.ResourceSpans
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			var pss ptrace.ScopeSpans
			for k := 0; k < ss.Spans().Len(); k++ {
				if !deferred[n] {
					n++
					continue
				}
				n++
				if prs == (ptrace.ResourceSpans{}) {
					prs = pending.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(prs.Resource())
					prs.SetSchemaUrl(rs.SchemaUrl())
				}
				if pss == (ptrace.ScopeSpans{}) {
					pss = prs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(pss.Scope())
					pss.SetSchemaUrl(ss.SchemaUrl())
				}
				ss.Spans().At(k).CopyTo(pss.Spans().AppendEmpty())
			}
		}
	}
	return consumererror.NewTraces(exporterhelper.NewThrottleRetry(errItemsPending, wait), pending)
}

func (e *zabbixExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	e.metricsMu.Lock()
	defer e.metricsMu.Unlock()
	values, _, commit := e.conv.fromMetrics(md, e.deltas)
	deferred, wait, err := e.deliver(ctx, [][]value{values})
	if err != nil {
		return err
	}
	if len(deferred) > 0 {
		// The whole batch waits: its deltas are computed again then.
		return exporterhelper.NewThrottleRetry(errItemsPending, wait)
	}
	commit()
	return nil
}

// deliver announces new job types, sends the values of every unit whose
// items can exist, and returns the units (by index) that must wait, with
// how long. A unit's values are sent together or not at all.
func (e *zabbixExporter) deliver(ctx context.Context, units [][]value) (map[int]bool, time.Duration, error) {
	if e.client == nil {
		return nil, 0, errors.New("the zabbix exporter was not started")
	}
	now := e.now()
	rows := map[jobType]struct{}{}
	for _, u := range units {
		for _, v := range u {
			if v.row != nil {
				rows[*v.row] = struct{}{}
			}
		}
	}
	ready, announce, _ := e.disc.plan(rows, now)

	var out []zabbixsender.Value
	type announcement struct {
		host string
		rows []jobType
	}
	var announcements []announcement
	for _, host := range announce {
		lld, hostRows := e.disc.announcement(host)
		out = append(out, zabbixsender.Value{Host: host, Key: e.cfg.Discovery.Key, Value: lld, Clock: now.Unix(), NS: now.Nanosecond()})
		announcements = append(announcements, announcement{host, hostRows})
	}
	deferred := map[int]bool{}
	deferredValues := 0
	ns := nsAllocator{}
	for i, u := range units {
		sendable := true
		for _, v := range u {
			if v.row != nil && !ready[*v.row] {
				sendable = false
				break
			}
		}
		if !sendable {
			deferred[i] = true
			deferredValues += len(u)
			continue
		}
		for _, v := range u {
			out = append(out, ns.assign(v, now))
		}
	}
	if len(out) > 0 {
		res, err := e.client.Send(ctx, out)
		e.record(ctx, res)
		if err != nil {
			if errors.Is(err, zabbixsender.ErrRefused) {
				return nil, 0, consumererror.NewPermanent(err)
			}
			return nil, 0, err
		}
	}
	for _, a := range announcements {
		e.disc.announced(a.host, a.rows, now)
		e.telemetry.ExporterZabbixDiscoverySent.Add(ctx, 1)
	}
	if len(deferred) == 0 {
		return nil, 0, nil
	}
	e.telemetry.ExporterZabbixValuesDeferred.Add(ctx, int64(deferredValues))
	wait := time.Duration(0)
	for i := range deferred {
		for _, v := range units[i] {
			if v.row == nil {
				continue
			}
			if at := e.disc.readyAt(*v.row); at.Sub(now) > wait {
				wait = at.Sub(now)
			}
		}
	}
	return deferred, wait, nil
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

func (e *zabbixExporter) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
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
