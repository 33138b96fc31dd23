package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// The old Local API's paths, below its base URL.
const (
	localAPISinglePath = "/v1/ingest/events"
	localAPIBatchPath  = "/v1/ingest/events:batch"
)

// metadataOriginalAt is the event.metadata key that keeps an event's own
// time when it is sent with the send time; metadataOriginal keeps the
// client's metadata then, when it was not an object.
const (
	metadataOriginalAt = "original_at"
	metadataOriginal   = "original_metadata"
)

// forLocalAPI makes an event one the Local API stores: it keeps jobs with a
// NOT NULL business key, so an event without one (a client that sent none,
// or a synthetic event of the jobhierarchy processor about a job it knows
// only by id) takes its job's id: a job's own id, a subjob's parent id, so
// that a job and its subjobs share it. An event whose time is further than
// maxSkew from now, which the Local API would refuse, is sent at now with
// its own time in event.metadata.original_at (metadata that is no object
// moves to event.metadata.original_metadata then).
func forLocalAPI(ev *v1event.Event, at, now time.Time, maxSkew time.Duration) {
	if ev.Entity.BusinessKey == nil {
		key := ev.Entity.ID
		if ev.Entity.Type == semconv.EntityTypeSubjob && ev.Entity.ParentID != nil {
			key = *ev.Entity.ParentID
		}
		ev.Entity.BusinessKey = &key
	}
	if maxSkew > 0 && (at.Sub(now) > maxSkew || now.Sub(at) > maxSkew) {
		md, isObject := ev.Event.Metadata.(map[string]any)
		if !isObject {
			md = map[string]any{}
			if ev.Event.Metadata != nil {
				md[metadataOriginal] = ev.Event.Metadata
			}
			ev.Event.Metadata = md
		}
		md[metadataOriginalAt] = ev.Event.At
		ev.Event.At = v1Time(pcommon.NewTimestampFromTime(now))
	}
}

// failedInAnswer is the number of events that the Local API's answer to a
// batch, {"ok":true,"total":N,"success":S,"failed":F}, says it could not
// store: it answers 200 even then. Other formats and answers report none.
func (e *webhookExporter) failedInAnswer(answer []byte) int {
	if e.cfg.Format != FormatLocalAPI || e.cfg.Mode != ModeBatch {
		return 0
	}
	var counts struct {
		Failed int `json:"failed"`
	}
	if json.Unmarshal(answer, &counts) != nil {
		return 0
	}
	return max(counts.Failed, 0)
}

// resendSingly sends the events of a batch that the Local API answered
// with failed > 0 one by one to its single-event path: its batch answer
// holds only counts, so this is how the events that failed are found. The
// Local API stores each idempotency key once, so an event that the batch
// did store is answered 200 again and not stored twice. An event refused
// for good is dead-lettered; a retryable failure stops the resend. It
// returns how many events of chunk are done (delivered or dead-lettered),
// the refusals, and the retryable error that stopped it.
func (e *webhookExporter) resendSingly(ctx context.Context, chunk []item, failed int) (int, []error, error) {
	e.telemetry.ExporterWebhookPartiallyFailed.Add(ctx, int64(failed))
	e.logger.Warn("The Local API answered a batch with 200 but could not store some of its events; resending them one by one to find which",
		zap.Int("failed", failed), zap.Int("batch", len(chunk)))
	var refused []error
	for i, it := range chunk {
		_, err := e.post(ctx, e.singleURL, it.body, contentTypeJSON, it.key)
		switch {
		case err == nil:
			e.countRequest(ctx, "sent")
		case consumererror.IsPermanent(err):
			e.countRequest(ctx, "rejected")
			e.reject(ctx, chunk[i:i+1], e.singleURL, it.body, contentTypeJSON, it.key, err)
			refused = append(refused, err)
		default:
			e.health.Observe(err)
			e.countRequest(ctx, "retryable")
			return i, refused, err
		}
	}
	if len(refused) > 0 {
		e.health.Observe(fmt.Errorf("the Local API refused %d events of a batch it answered with 200: %w", len(refused), refused[0]))
	} else {
		e.health.Observe(nil)
	}
	return len(chunk), refused, nil
}
