package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
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
						Subject:         str(span.Attributes(), semconv.AttrEntityID),
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

// deliver sends the items in requests of one or up to max_batch_events
// items. A request the endpoint rejects for good goes to the dead-letter
// file and the others still go out; at the first retryable failure, what is
// left (that request and the ones after it) is handed back to the exporter
// helper to retry, so nothing already accepted or dead-lettered is sent again.
func (e *webhookExporter) deliver(ctx context.Context, items []item, remaining func([]item) any) error {
	size := 1
	if e.cfg.Mode == ModeBatch {
		size = e.cfg.MaxBatchEvents
	}
	var rejected []error
	for start := 0; start < len(items); start += size {
		chunk := items[start:min(start+size, len(items))]
		body, contentType, key := e.encode(chunk)
		answer, err := e.post(ctx, e.url, body, contentType, key)
		switch {
		case err == nil:
			if failed := e.failedInAnswer(answer); failed > 0 {
				e.countRequest(ctx, "partial")
				done, refused, err := e.resendSingly(ctx, chunk, failed)
				rejected = append(rejected, refused...)
				if err != nil {
					return retryLater(err, remaining(items[start+done:]))
				}
				continue
			}
			e.health.Observe(nil)
			e.countRequest(ctx, "sent")
		case consumererror.IsPermanent(err):
			e.health.Observe(err)
			e.countRequest(ctx, "rejected")
			e.reject(ctx, chunk, e.url, body, contentType, key, err)
			rejected = append(rejected, err)
		default:
			e.health.Observe(err)
			e.countRequest(ctx, "retryable")
			return retryLater(err, remaining(items[start:]))
		}
	}
	if len(rejected) > 0 {
		return consumererror.NewPermanent(errors.Join(rejected...))
	}
	return nil
}

// retryLater hands what is left back to the exporter helper with a
// retryable error.
func retryLater(err error, rest any) error {
	switch rest := rest.(type) {
	case plog.Logs:
		return consumererror.NewLogs(err, rest)
	case ptrace.Traces:
		return consumererror.NewTraces(err, rest)
	}
	return err
}

func (e *webhookExporter) countRequest(ctx context.Context, outcome string) {
	e.telemetry.ExporterWebhookRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

// encode makes the request body of a chunk, its content type and its
// idempotency key: the item's own key, or for a batch a key derived from the
// keys of its items (the same batch retried carries the same key).
func (e *webhookExporter) encode(chunk []item) ([]byte, string, string) {
	contentType := contentTypeJSON
	if e.cfg.Format == FormatCloudEvents {
		contentType = contentTypeCloudEvent
	}
	if e.cfg.Mode == ModeSingle {
		return chunk[0].body, contentType, chunk[0].key
	}
	var buf bytes.Buffer
	h := sha256.New()
	object := e.cfg.BatchEnvelope == EnvelopeObject && e.cfg.Format != FormatCloudEvents
	if object {
		listKey := "events"
		if e.cfg.Format == FormatRecord {
			listKey = "records"
		}
		buf.WriteString(`{"` + listKey + `":`)
	}
	buf.WriteByte('[')
	for i, it := range chunk {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it.body)
		h.Write([]byte(it.key))
		h.Write([]byte{'\n'})
	}
	buf.WriteByte(']')
	if object {
		buf.WriteString(`,"count":` + strconv.Itoa(len(chunk)) + `}`)
	}
	if e.cfg.Format == FormatCloudEvents {
		contentType = contentTypeCloudEventsBatch
	}
	return buf.Bytes(), contentType, "batch:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// reject keeps a permanently rejected request in the dead-letter file, or
// logs it in full when no file is configured.
func (e *webhookExporter) reject(ctx context.Context, chunk []item, url string, body []byte, contentType, key string, cause error) {
	e.telemetry.ExporterWebhookDeadLettered.Add(ctx, int64(len(chunk)))
	entry := deadLetterEntry{
		Time:           e.now().UTC().Format(time.RFC3339Nano),
		Endpoint:       url,
		Format:         e.cfg.Format,
		Mode:           e.cfg.Mode,
		ContentType:    contentType,
		IdempotencyKey: key,
		Count:          len(chunk),
		Error:          cause.Error(),
		Payload:        json.RawMessage(body),
	}
	var se *statusError
	if errors.As(cause, &se) {
		entry.StatusCode = se.code
	}
	if e.deadLetter == nil {
		e.logger.Error("The endpoint rejected a payload for good and no dead_letter::path is configured",
			zap.Error(cause), zap.String("idempotency_key", key), zap.ByteString("payload", body))
		return
	}
	if err := e.deadLetter.Unwrap().write(entry); err != nil {
		e.logger.Error("Cannot write to the dead-letter file; the rejected payload follows",
			zap.String("path", e.cfg.DeadLetter.Path), zap.Error(err), zap.ByteString("payload", body))
	}
}
