package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"errors"
	"io"
	"net/http"
)

const (
	// wholeReservation is the largest declared body whose bytes are reserved
	// at once, before any is read: every request of the old clients. Larger
	// and undeclared (chunked, compressed) bodies reserve as they arrive, in
	// steps that double from it, so a body sent slowly holds at most twice
	// the bytes it sent.
	wholeReservation = 64 << 10
	// firstUndeclaredStep is the first reservation of a body of unknown size.
	firstUndeclaredStep = 16 << 10
)

// errBodyTooLarge is returned when the declared Content-Length is above the
// limit; bodies without a declared length are stopped by the server's
// http.MaxBytesReader instead.
var errBodyTooLarge = errors.New("request body too large")

// heldBody is a request body read under the admission budget, with the
// bytes it holds there until released.
type heldBody struct {
	raw  []byte
	held int64
}

// readBody reads a request body into one buffer whose capacity is exactly
// what it holds in the budget: a declared Content-Length up to
// wholeReservation at once, anything else in doubling steps as the bytes
// arrive. limit is the effective max_request_body_size. The bytes are held
// even when an error is returned; the caller releases them.
func (a *admission) readBody(ctx context.Context, req *http.Request, limit int64, body *heldBody) error {
	declared := req.ContentLength
	if declared > limit {
		return errBodyTooLarge
	}
	if declared == 0 {
		return nil
	}
	grow := func(want int64) error {
		if err := a.acquireBytes(ctx, want-body.held); err != nil {
			return err
		}
		body.held = want
		grown := make([]byte, len(body.raw), want)
		copy(grown, body.raw)
		body.raw = grown
		return nil
	}
	first := min(firstUndeclaredStep, limit+1)
	if declared > 0 {
		first = min(declared, wholeReservation)
	}
	if err := grow(first); err != nil {
		return err
	}
	for {
		if len(body.raw) == cap(body.raw) {
			if int64(len(body.raw)) == declared {
				return nil // the server's body reader stops at Content-Length
			}
			// For a body of unknown size, one byte past the limit lets
			// http.MaxBytesReader report it.
			next := min(2*body.held, limit+1)
			if declared > 0 {
				next = min(2*body.held, declared)
			}
			if next <= body.held {
				return errBodyTooLarge
			}
			if err := grow(next); err != nil {
				return err
			}
		}
		n, err := req.Body.Read(body.raw[len(body.raw):cap(body.raw)])
		body.raw = body.raw[:len(body.raw)+n]
		if errors.Is(err, io.EOF) {
			if declared > 0 && int64(len(body.raw)) < declared {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}
