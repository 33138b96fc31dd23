package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// admission decides when an event request may hold memory and CPU, so that
// the requests in flight stay within a budget without refusing the old
// clients, which lose whatever is refused.
//
// A request holds the bytes of its body, from the moment they are read
// until it is answered, within max_bytes_in_flight: a request whose bytes do
// not fit waits for others to be answered. Only once its body is read does
// it take one of the few decoders (about one per CPU), for decoding and
// handing its events to the pipeline. A client that sends its body slowly
// therefore holds only the bytes it sent and its connection, never a
// decoder, and read_timeout cuts it off.
//
// Every wait of a request ends at one deadline, max_wait after it arrived;
// then it is answered 503 with Retry-After. Both semaphores serve waiters
// in arrival order, so a large body is not starved by small ones.
type admission struct {
	bytes    *semaphore.Weighted
	budget   int64
	decoders *semaphore.Weighted
	maxWait  time.Duration

	// waiting counts the requests waiting now; waited is told of each wait.
	waiting atomic.Int64
	waited  func(label string)

	// waitContext returns the context under which a request that arrived
	// at arrived waits; tests replace it to end a wait without a clock.
	waitContext func(parent context.Context, arrived time.Time) (context.Context, context.CancelFunc)
}

// newAdmission sizes the admission from the configuration; maxBody is the
// effective max_request_body_size. The budget holds at least the largest
// allowed body and the one byte past it that tells a body is too large.
func newAdmission(cfg AdmissionConfig, maxBody int64) *admission {
	budget := max(cfg.MaxBytesInFlight, maxBody+1)
	decoders := cfg.MaxConcurrentDecodes
	if decoders <= 0 {
		decoders = runtime.GOMAXPROCS(0)
	}
	a := &admission{
		bytes:    semaphore.NewWeighted(budget),
		budget:   budget,
		decoders: semaphore.NewWeighted(int64(decoders)),
		maxWait:  cfg.MaxWait,
	}
	a.waitContext = func(parent context.Context, arrived time.Time) (context.Context, context.CancelFunc) {
		return context.WithDeadline(parent, arrived.Add(a.maxWait))
	}
	return a
}

// waitDeadline is the context of every wait of one request: it ends
// max_wait after the request arrived, or with the request. Most requests
// never wait (every semaphore is tried first), so the context and the
// timer behind it are made only when a wait first asks for them.
type waitDeadline struct {
	a       *admission
	parent  context.Context
	arrived time.Time

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

// deadline returns the wait context of a request that arrived at arrived;
// the caller calls its release once the request is answered.
func (a *admission) deadline(parent context.Context, arrived time.Time) *waitDeadline {
	return &waitDeadline{a: a, parent: parent, arrived: arrived}
}

func (d *waitDeadline) resolve() context.Context {
	d.once.Do(func() { d.ctx, d.cancel = d.a.waitContext(d.parent, d.arrived) })
	return d.ctx
}

func (d *waitDeadline) Deadline() (time.Time, bool) { return d.resolve().Deadline() }
func (d *waitDeadline) Done() <-chan struct{}       { return d.resolve().Done() }
func (d *waitDeadline) Err() error                  { return d.resolve().Err() }
func (d *waitDeadline) Value(key any) any           { return d.resolve().Value(key) }

// release stops the timer, if a wait made one. The request's waits are
// over: it is called once the request is answered (the once orders it
// after any wait that made the context, and no context is made after it).
func (d *waitDeadline) release() {
	d.once.Do(func() { d.ctx, d.cancel = d.parent, func() {} })
	d.cancel()
}

// errWaitExpired is the cause of a 503 when a request waited max_wait.
var errWaitExpired = errors.New("waited too long")

// waitError says what a request waited for when its wait ended.
type waitError struct {
	what    string
	maxWait time.Duration
	cause   error
	// clientGone: the client closed the connection while it waited; the
	// receiver was not too busy for the wait's length.
	clientGone bool
}

func (e *waitError) Error() string {
	if e.clientGone {
		return "the client closed the connection while the request waited for " + e.what
	}
	return fmt.Sprintf("the receiver is busy: no %s within %s of the request's arrival (admission::max_wait)", e.what, e.maxWait)
}

func (e *waitError) Unwrap() error { return e.cause }

// waitFor is what a request waits for: its label in the receiver's
// telemetry and the words of its 503.
type waitFor struct{ label, text string }

var (
	waitBytes    = waitFor{"bytes", "room among the request bodies in flight (admission::max_bytes_in_flight)"}
	waitDecoder  = waitFor{"decoder", "a decoder (admission::max_concurrent_decodes)"}
	waitSameKeys = waitFor{"same_key", "another request carrying the same idempotency key"}
)

// wait blocks until acquire succeeds or ctx ends.
func (a *admission) wait(ctx context.Context, what waitFor, acquire func(context.Context) error) error {
	a.waiting.Add(1)
	defer a.waiting.Add(-1)
	if a.waited != nil {
		a.waited(what.label)
	}
	if err := acquire(ctx); err != nil {
		cause := context.Cause(ctx)
		return &waitError{what: what.text, maxWait: a.maxWait, cause: errors.Join(errWaitExpired, cause),
			clientGone: errors.Is(cause, context.Canceled)}
	}
	return nil
}

// acquireBytes reserves n bytes of the budget.
func (a *admission) acquireBytes(ctx context.Context, n int64) error {
	if n <= 0 || a.bytes.TryAcquire(n) {
		return nil
	}
	return a.wait(ctx, waitBytes, func(ctx context.Context) error { return a.bytes.Acquire(ctx, n) })
}

func (a *admission) releaseBytes(n int64) {
	if n > 0 {
		a.bytes.Release(n)
	}
}

// decodeSlot is one decoder, taken and given back.
type decodeSlot struct {
	a    *admission
	held bool
}

// acquire takes the slot, waiting until ctx ends.
func (d *decodeSlot) acquire(ctx context.Context) error {
	if d.held {
		return nil
	}
	if !d.a.decoders.TryAcquire(1) {
		if err := d.a.wait(ctx, waitDecoder, func(ctx context.Context) error { return d.a.decoders.Acquire(ctx, 1) }); err != nil {
			return err
		}
	}
	d.held = true
	return nil
}

// release gives the slot back; it is safe to call when not held.
func (d *decodeSlot) release() {
	if d.held {
		d.held = false
		d.a.decoders.Release(1)
	}
}
