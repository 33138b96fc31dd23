package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
)

const (
	contentTypeJSON             = "application/json"
	contentTypeCloudEvent       = "application/cloudevents+json"
	contentTypeCloudEventsBatch = "application/cloudevents-batch+json"
	maxResponseRead             = 4 * 1024
)

type webhookExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	logger    *zap.Logger
	userAgent string
	telemetry *metadata.TelemetryBuilder
	// now is the clock of the signature timestamp.
	now func() time.Time

	client *http.Client
	// url is where every request goes; singleURL, for the local_api format,
	// is the Local API's path of one event.
	url, singleURL string
	deadLetter     *sharedcomponent.Component[*deadLetterFile]
	// health reports failing deliveries as the exporter's component status.
	health *exporterhealth.Tracker
}

func newExporter(cfg *Config, set exporter.Settings) (*webhookExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	url, singleURL := cfg.ClientConfig.Endpoint, ""
	if cfg.Format == FormatLocalAPI {
		base := strings.TrimSuffix(cfg.ClientConfig.Endpoint, "/")
		url, singleURL = base+localAPISinglePath, base+localAPISinglePath
		if cfg.Mode == ModeBatch {
			url = base + localAPIBatchPath
		}
	}
	return &webhookExporter{
		url:       url,
		singleURL: singleURL,
		cfg:       cfg,
		settings:  set.TelemetrySettings,
		logger:    set.Logger,
		userAgent: fmt.Sprintf("%s/%s (%s/%s)", set.BuildInfo.Description, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
		telemetry: tb,
		now:       time.Now,
	}, nil
}

// start builds the HTTP client: auth extensions are only known here.
func (e *webhookExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return err
	}
	if e.cfg.DeadLetter.Path != "" {
		dl, err := acquireDeadLetter(ctx, host, e.cfg.DeadLetter)
		if err != nil {
			client.CloseIdleConnections()
			return err
		}
		e.deadLetter = dl
	}
	e.client = client
	e.health.Start(host)
	return nil
}

func (e *webhookExporter) shutdown(ctx context.Context) error {
	e.health.Shutdown()
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	if e.deadLetter != nil {
		return e.deadLetter.Shutdown(ctx)
	}
	return nil
}

func (e *webhookExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	var items []item
	var skipped skipCounts
	now := e.now()
	for ri, rl := range ld.ResourceLogs().All() {
		for si, sl := range rl.ScopeLogs().All() {
			for li, lr := range sl.LogRecords().All() {
				if !isLifecycle(lr.Attributes()) {
					skipped.notLifecycle++
					continue
				}
				ev, f := eventOf(rl.Resource(), lr)
				if !matches(e.cfg.Filters, f) {
					skipped.filtered++
					continue
				}
				if e.cfg.Format == FormatLocalAPI {
					forLocalAPI(&ev, eventTime(lr), now, e.cfg.LocalAPI.MaxTimeSkew)
				}
				var payload any = ev
				if e.cfg.Format == FormatCloudEvents {
					payload = cloudEvent{
						SpecVersion:     "1.0",
						ID:              ev.IdempotencyKey,
						Source:          e.cfg.CloudEvents.Source,
						Type:            cloudEventType(e.cfg.CloudEvents.TypePrefix, f.entityType, f.kind),
						Subject:         ev.Entity.ID,
						Time:            ev.Event.At,
						DataContentType: contentTypeJSON,
						TraceParent:     traceParent(lr.TraceID(), lr.SpanID()),
						WaferSite:       f.site,
						WaferOutcome:    f.outcome,
						Data:            ev,
					}
				}
				items = e.appendItem(ctx, items, payload, ev.IdempotencyKey, ri, si, li)
			}
		}
	}
	e.countSkipped(ctx, skipped)
	return e.deliver(ctx, items, func(rest []item) any { return remainingLogs(ld, rest) })
}

func (e *webhookExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	var items []item
	var skipped skipCounts
	for ri, rs := range td.ResourceSpans().All() {
		for si, ss := range rs.ScopeSpans().All() {
			for pi, span := range ss.Spans().All() {
				if !isEntity(span.Attributes()) {
					skipped.notLifecycle++
					continue
				}
				rec, f, key := recordOf(rs.Resource(), span)
				if !matches(e.cfg.Filters, f) {
					skipped.filtered++
					continue
				}
				var payload any = rec
				if e.cfg.Format == FormatCloudEvents {
					payload = cloudEvent{
						SpecVersion:     "1.0",
						ID:              key,
						Source:          e.cfg.CloudEvents.Source,
						Type:            cloudEventType(e.cfg.CloudEvents.TypePrefix, f.entityType, "completed"),
						Subject:         entity.Of(span.Attributes()).ID(),
						Time:            rfc3339(span.EndTimestamp()),
						DataContentType: contentTypeJSON,
						TraceParent:     traceParent(span.TraceID(), span.SpanID()),
						WaferSite:       f.site,
						WaferOutcome:    f.outcome,
						Data:            rec,
					}
				}
				items = e.appendItem(ctx, items, payload, key, ri, si, pi)
			}
		}
	}
	e.countSkipped(ctx, skipped)
	return e.deliver(ctx, items, func(rest []item) any { return remainingTraces(td, rest) })
}

// appendItem encodes one payload. One that cannot be encoded (a value JSON
// cannot hold) is logged and counted as dead-lettered: retrying cannot help.
func (e *webhookExporter) appendItem(ctx context.Context, items []item, payload any, key string, ri, si, idx int) []item {
	body, err := json.Marshal(payload)
	if err != nil {
		e.logger.Error("Cannot encode an item as JSON; it is dropped", zap.String("idempotency_key", key), zap.Error(err))
		e.telemetry.ExporterWebhookDeadLettered.Add(ctx, 1)
		return items
	}
	return append(items, item{key: key, body: body, resource: ri, scope: si, index: idx})
}

// skipCounts counts what a push leaves out, by reason.
type skipCounts struct {
	filtered     int // left out by the filters
	notLifecycle int // other logs or spans in the same pipeline
}

func (e *webhookExporter) countSkipped(ctx context.Context, s skipCounts) {
	if s.filtered > 0 {
		e.telemetry.ExporterWebhookFiltered.Add(ctx, int64(s.filtered), metric.WithAttributes(attribute.String("reason", "filter")))
	}
	if s.notLifecycle > 0 {
		e.telemetry.ExporterWebhookFiltered.Add(ctx, int64(s.notLifecycle), metric.WithAttributes(attribute.String("reason", "not_wafermonitor")))
	}
}
