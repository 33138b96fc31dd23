package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

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
