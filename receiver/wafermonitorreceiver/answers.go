package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

type acceptedSingle struct {
	OK         bool `json:"ok"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"`
}

type acceptedBatch struct {
	OK         bool `json:"ok"`
	Total      int  `json:"total"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"`
	// Spooled is what the old sidecar answered for events it kept to
	// forward later; the collector's accepted events are all in that state.
	Spooled int `json:"spooled"`
}

// appendJSON appends what json.Marshal writes of a.
func (a acceptedSingle) appendJSON(b []byte) []byte {
	b = strconv.AppendBool(append(b, `{"ok":`...), a.OK)
	b = strconv.AppendInt(append(b, `,"accepted":`...), int64(a.Accepted), 10)
	b = strconv.AppendInt(append(b, `,"duplicates":`...), int64(a.Duplicates), 10)
	return append(b, '}')
}

// appendJSON appends what json.Marshal writes of a.
func (a acceptedBatch) appendJSON(b []byte) []byte {
	b = strconv.AppendBool(append(b, `{"ok":`...), a.OK)
	b = strconv.AppendInt(append(b, `,"total":`...), int64(a.Total), 10)
	b = strconv.AppendInt(append(b, `,"accepted":`...), int64(a.Accepted), 10)
	b = strconv.AppendInt(append(b, `,"duplicates":`...), int64(a.Duplicates), 10)
	b = strconv.AppendInt(append(b, `,"spooled":`...), int64(a.Spooled), 10)
	return append(b, '}')
}

// problems is the body of every refusal of an event request.
type problems struct {
	OK     bool      `json:"ok"`
	Detail []problem `json:"detail"`
}

// detailText is the body of a 404 or 405, as FastAPI writes it.
type detailText struct {
	Detail string `json:"detail"`
}

func refusal(typ string, loc []any, msg string) problems {
	return problems{Detail: []problem{{Type: typ, Loc: loc, Msg: msg}}}
}

func unavailable(msg string) (int, any) {
	return http.StatusServiceUnavailable, refusal("unavailable", []any{}, msg)
}

// bodyError maps an error of reading a request body (other than a wait
// that ran out) to the answer and the reason it is counted under.
func (r *wafermonitorReceiver) bodyError(err error) (code int, body any, reason string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, refusal("too_large", []any{"body"},
			fmt.Sprintf("request body larger than %d bytes (max_request_body_size)", maxBodySize(r.cfg))), reasonTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, refusal("timeout", []any{"body"},
			fmt.Sprintf("the request body did not arrive within %s (read_timeout)", r.cfg.ReadTimeout)), reasonTimeout
	}
	return http.StatusBadRequest, refusal("body_read", []any{"body"}, "cannot read the request body: "+err.Error()), reasonInvalid
}

// writeHTTPError answers errors raised by the collector's HTTP middlewares
// (authentication, decompression) in the API's JSON shape.
func (r *wafermonitorReceiver) writeHTTPError(w http.ResponseWriter, req *http.Request, msg string, code int) {
	typ := "bad_request"
	loc := []any{"body"}
	if code == http.StatusUnauthorized {
		// The authenticator's message never carries the credential itself.
		typ, loc = "unauthorized", []any{"header", "Authorization"}
	}
	r.count(req.Context(), r.pathLabel(req), code)
	writeProblems(w, code, problem{Type: typ, Loc: loc, Msg: msg})
}

func (r *wafermonitorReceiver) count(_ context.Context, path string, code int) {
	r.counters.countRequest(path, code)
}

func (r *wafermonitorReceiver) reject(_ context.Context, reason string, n int) {
	r.counters.countRejected(reason, n)
}

func writeProblems(w http.ResponseWriter, code int, p ...problem) {
	writeJSON(w, code, problems{Detail: p})
}

// writeAnswer writes an event request's answer; a 503 carries Retry-After.
func (r *wafermonitorReceiver) writeAnswer(w http.ResponseWriter, code int, body any) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(r.cfg.RetryAfter/time.Second)))
	}
	writeJSON(w, code, body)
}

// jsonContentType is the Content-Type of every answer, one slice shared by
// all of them (net/http only reads it).
var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, code int, body any) {
	var b []byte
	var err error
	declared := true
	switch a := body.(type) {
	case acceptedSingle: // the answers of every accepted request, written without reflection
		b, declared = a.appendJSON(make([]byte, 0, 64)), false
	case acceptedBatch:
		b, declared = a.appendJSON(make([]byte, 0, 96)), false
	default:
		b, err = json.Marshal(body)
	}
	if err != nil {
		b = []byte(`{"ok":false}`)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	// An accepted request's answer is far shorter than net/http's buffer:
	// the server declares its Content-Length itself, as it would be set
	// here. Others may be longer, and are declared so that they are never
	// sent chunked.
	if declared {
		h["Content-Length"] = []string{strconv.Itoa(len(b) + 1)}
	}
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
