package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// handleEvents serves the event paths: admission, decoding, deduplication
// and hand-off to the pipeline, and the answer.
func (r *wafermonitorReceiver) handleEvents(w http.ResponseWriter, req *http.Request, path string, batch bool) {
	ctx := req.Context()
	waitCtx := r.admission.deadline(ctx, time.Now())
	defer waitCtx.release()
	code, body := r.ingest(ctx, waitCtx, req, batch)
	r.count(ctx, path, code)
	r.writeAnswer(w, code, body)
}

// ingest reads, decodes, deduplicates and hands a request's events to the
// pipeline; it returns the status and the body of the answer. Every wait
// ends when waitCtx does.
func (r *wafermonitorReceiver) ingest(ctx, waitCtx context.Context, req *http.Request, batch bool) (int, any) {
	if r.stopping.Load() {
		return unavailable("the collector is shutting down; retry")
	}
	var body heldBody
	defer func() { r.admission.releaseBytes(body.held) }()
	if err := r.admission.readBody(waitCtx, req, maxBodySize(r.cfg), &body); err != nil {
		var busy *waitError
		if errors.As(err, &busy) {
			return r.refused(ctx, err, 1)
		}
		code, answer, reason := r.bodyError(err)
		r.reject(ctx, reason, 1)
		return code, answer
	}
	slot := decodeSlot{a: r.admission}
	defer slot.release()
	if err := slot.acquire(waitCtx); err != nil {
		return r.refused(ctx, err, 1)
	}
	now := r.now()
	events, code, prob := r.decode(body.raw, now, batch)
	if prob != nil {
		return code, prob
	}
	accepted, dups, refused, err := r.deliver(ctx, waitCtx, events, now, &slot)
	if dups > 0 {
		r.counters.countDuplicates(dups)
	}
	if accepted > 0 {
		r.health.accepted(now)
	}
	if err != nil {
		return r.refused(ctx, err, refused)
	}
	if len(events) > 1 || batch {
		return http.StatusOK, acceptedBatch{OK: true, Total: len(events), Accepted: accepted, Duplicates: dups, Spooled: accepted}
	}
	return http.StatusOK, acceptedSingle{OK: true, Accepted: accepted, Duplicates: dups}
}

// refused answers n events that were not taken: 503 with Retry-After when
// the receiver was too busy or the pipeline refused them for now, 400 when
// the pipeline rejected them for good.
func (r *wafermonitorReceiver) refused(ctx context.Context, err error, n int) (int, any) {
	var busy *waitError
	switch {
	case errors.As(err, &busy) && busy.clientGone:
		// Nobody reads the answer; the receiver was not refusing.
		r.reject(ctx, reasonClientGone, n)
		return unavailable(busy.Error())
	case errors.As(err, &busy):
		r.health.refused(r.now(), err)
		r.reject(ctx, reasonBusy, n)
		return unavailable(busy.Error() + "; retry after the Retry-After delay")
	}
	r.health.refused(r.now(), err)
	r.reject(ctx, reasonPipeline, n)
	if consumererror.IsPermanent(err) {
		return http.StatusBadRequest, refusal("rejected", []any{"body"}, "the pipeline rejected the data permanently: "+err.Error())
	}
	return unavailable("the pipeline cannot take data now (" + err.Error() + "); retry after the Retry-After delay")
}

// deliver hands events to the pipeline, each idempotency key by one request
// at a time. Events whose key another request is handing over wait for its
// outcome, without holding a decoder: they are duplicates if it was
// accepted, and are handed over here if it was refused. It returns how many
// events were accepted, how many were duplicates, and, with an error, how
// many were not taken.
func (r *wafermonitorReceiver) deliver(ctx, waitCtx context.Context, events []event, now time.Time, slot *decodeSlot) (accepted, dups, refused int, err error) {
	if r.dedup == nil {
		if err := r.consume(ctx, events, now); err != nil {
			return 0, 0, len(events), err
		}
		r.countAccepted(events)
		return len(events), 0, 0, nil
	}
	for len(events) > 0 {
		c := r.dedup.claim(events, now)
		dups += c.duplicates
		if len(c.fresh) > 0 {
			if err := r.consumeClaimed(ctx, c, now); err != nil {
				return accepted, dups, len(c.fresh) + len(c.waiting), err
			}
			accepted += len(c.fresh)
		}
		if len(c.waiting) == 0 {
			break
		}
		slot.release()
		if err := r.admission.wait(waitCtx, waitSameKeys, func(ctx context.Context) error {
			select {
			case <-c.wait:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}); err != nil {
			return accepted, dups, len(c.waiting), err
		}
		if err := slot.acquire(waitCtx); err != nil {
			return accepted, dups, len(c.waiting), err
		}
		events = c.waiting
	}
	return accepted, dups, 0, nil
}

// consumeClaimed hands a claim's fresh events to the pipeline and settles
// their keys, whatever happens.
func (r *wafermonitorReceiver) consumeClaimed(ctx context.Context, c claim, now time.Time) error {
	taken := false
	defer func() { r.dedup.settle(c.keys, taken, now) }()
	if err := r.consume(ctx, c.fresh, now); err != nil {
		return err
	}
	taken = true
	r.countAccepted(c.fresh)
	return nil
}

// countAccepted counts events by kind, each kind once per request.
func (r *wafermonitorReceiver) countAccepted(events []event) {
	var byKind [len(knownKinds)]int
	other := 0
	for i := range events {
		known := false
		for k, kind := range knownKinds {
			if events[i].Kind == kind {
				byKind[k]++
				known = true
				break
			}
		}
		if !known {
			other++
		}
	}
	for k, n := range byKind {
		if n > 0 {
			r.counters.countEvents(knownKinds[k], n)
		}
	}
	if other > 0 {
		r.counters.countEvents(otherLabel, other)
	}
}

// consume hands the events to the logs and traces pipelines and, once both
// took them, counts them in the job metrics (handed over every
// metrics_interval, see metricsEmitter). The first refusal is returned;
// the client retries the whole request, so a signal that took the data
// before may see it twice (at-least-once), while the metrics count each
// accepted event once.
func (r *wafermonitorReceiver) consume(ctx context.Context, events []event, now time.Time) error {
	if r.nextLogs != nil {
		logs := r.conv.toLogs(events, now)
		n := logs.LogRecordCount()
		opCtx := r.obsrep.StartLogsOp(ctx)
		err := r.nextLogs.ConsumeLogs(opCtx, logs)
		r.obsrep.EndLogsOp(opCtx, metadata.Type.String(), n, err)
		if err != nil {
			return err
		}
	}
	if r.nextTraces != nil {
		if traces, n := r.conv.toTraces(events); n > 0 {
			opCtx := r.obsrep.StartTracesOp(ctx)
			err := r.nextTraces.ConsumeTraces(opCtx, traces)
			r.obsrep.EndTracesOp(opCtx, metadata.Type.String(), n, err)
			if err != nil {
				return err
			}
		}
	}
	if r.nextMetrics != nil {
		r.metrics.record(events, now)
	}
	return nil
}
