package jobs

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// Paths of the v1 API on the receiver and on the old sidecar.
const v1BatchPath = "/v1/events/batch"

// maxBatch bounds one request; the receiver's default limit is higher.
const maxBatch = 500

// sidecar sends v1 events in batches from a bounded queue, in one goroutine,
// so that a slow or absent receiver never holds up the job.
type sidecar struct {
	url      string
	client   *http.Client
	interval time.Duration
	inst     *instruments

	queue   chan v1event.Event
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// retryDelay is the first wait before resending a batch the receiver
	// could not take (503, network error); it doubles up to three tries.
	retryDelay time.Duration
}

func newSidecar(baseURL string, queue int, interval time.Duration, inst *instruments) *sidecar {
	s := &sidecar{
		url:        baseURL + v1BatchPath,
		client:     &http.Client{Timeout: 10 * time.Second},
		interval:   interval,
		inst:       inst,
		queue:      make(chan v1event.Event, queue),
		flushes:    make(chan chan struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		retryDelay: 200 * time.Millisecond,
	}
	go s.run()
	return s
}

// enqueue never blocks: a full queue means the receiver is not keeping up,
// and the event is dropped and counted.
func (s *sidecar) enqueue(ev v1event.Event) {
	select {
	case <-s.stop:
		return // shut down: nobody would send it
	default:
	}
	select {
	case s.queue <- ev:
	default:
		s.inst.dropped.Add(context.Background(), 1)
		otel.Handle(fmt.Errorf("jobs: v1 event queue full, dropped a %s event of %s", ev.Event.Kind, ev.Entity.ID))
	}
}

func (s *sidecar) run() {
	defer close(s.done)
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	batch := make([]v1event.Event, 0, 64)
	drain := func() {
		for {
			select {
			case ev := <-s.queue:
				batch = append(batch, ev)
				if len(batch) >= maxBatch {
					s.send(batch)
					batch = batch[:0]
				}
			default:
				if len(batch) > 0 {
					s.send(batch)
					batch = batch[:0]
				}
				return
			}
		}
	}
	for {
		select {
		case ev := <-s.queue:
			batch = append(batch, ev)
			if len(batch) >= maxBatch {
				s.send(batch)
				batch = batch[:0]
			}
		case <-ticker.C:
			drain()
		case ack := <-s.flushes:
			drain()
			close(ack)
		case <-s.stop:
			drain()
			return
		}
	}
}

func (s *sidecar) send(batch []v1event.Event) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(batch); err != nil {
		s.fail(len(batch), fmt.Errorf("encoding: %w", err))
		return
	}
	if err := zw.Close(); err != nil {
		s.fail(len(batch), fmt.Errorf("compressing: %w", err))
		return
	}
	delay := s.retryDelay
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var retry time.Duration
		retry, err = s.post(buf.Bytes())
		if err == nil {
			return
		}
		if retry < 0 {
			break
		}
		if retry == 0 {
			retry = delay
			delay *= 2
		}
		select {
		case <-time.After(retry):
		case <-s.stop:
			// Shutting down: one more try is all the caller waits for.
			if _, err = s.post(buf.Bytes()); err == nil {
				return
			}
			s.fail(len(batch), err)
			return
		}
	}
	s.fail(len(batch), err)
}

// post sends one request. It returns how long to wait before retrying (0:
// the default backoff, negative: do not retry).
func (s *sidecar) post(body []byte) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return 0, nil
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		wait := time.Duration(0)
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = min(time.Duration(secs)*time.Second, 30*time.Second)
		}
		return wait, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return -1, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
}

func (s *sidecar) fail(n int, err error) {
	s.inst.failed.Add(context.Background(), int64(n))
	otel.Handle(fmt.Errorf("jobs: sending %d v1 events to %s: %w", n, s.url, err))
}

// flush sends what is queued and waits until it was sent or ctx ends.
func (s *sidecar) flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case s.flushes <- ack:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown sends what is queued and stops the goroutine.
func (s *sidecar) shutdown(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
