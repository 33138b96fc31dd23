// Package localapitest is a stand-in for the old sidecar's Local API in
// tests, answering as the old Local API does:
//
//   - POST /v1/ingest/events takes one event; POST /v1/ingest/events:batch
//     takes a bare JSON array of them and answers 422 to anything else
//     (an object with "events" included);
//   - a batch is answered 200 {"ok":true,"total":N,"success":S,"failed":F}
//     even when events failed; a single event that fails is answered 422
//     (invalid) or 500 (refused by the database);
//   - event.at is parsed as Python 3.10's datetime.fromisoformat does: no
//     trailing Z, fractions of 3 or 6 digits only;
//   - an event more than 10 minutes from the server's clock is refused
//     ("Event time skew too large");
//   - jobs are stored with a NOT NULL business key: an event without
//     entity.business_key fails;
//   - an idempotency key is stored once; the event sent again is answered
//     as stored.
package localapitest // import "github.com/wafermonitor/wafermonitor/internal/localapitest"

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MaxSkew is the Local API's limit on the distance between an event's
// time and its clock.
const MaxSkew = 10 * time.Minute

// Paths of the Local API.
const (
	SinglePath = "/v1/ingest/events"
	BatchPath  = "/v1/ingest/events:batch"
)

// Server is a running stand-in Local API.
type Server struct {
	*httptest.Server
	// Now is the server's clock; time.Now unless a test sets it before
	// sending.
	Now func() time.Time

	mu       sync.Mutex
	stored   map[string]json.RawMessage
	order    []string
	refusals []string
	requests map[string]int
	flaky    int
}

// Start runs a stand-in Local API on loopback until the test ends.
func Start(t interface{ Cleanup(func()) }) *Server {
	s := &Server{Now: time.Now, stored: map[string]json.RawMessage{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// FailNextInBatches makes the next n events that arrive in batches fail as
// a passing database error would: counted in "failed", not stored; the
// same events sent alone are stored.
func (s *Server) FailNextInBatches(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flaky = n
}

// Events returns the stored events, by idempotency key.
func (s *Server) Events() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.stored))
	for k, v := range s.stored {
		out[k] = v
	}
	return out
}

// Refusals returns why events were refused, in order.
func (s *Server) Refusals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refusals...)
}

// Requests returns how many requests each path received.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path != SinglePath && path != BatchPath {
		answer(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
		return
	}
	if r.Method != http.MethodPost {
		answer(w, http.StatusMethodNotAllowed, map[string]any{"detail": "Method Not Allowed"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"detail": "cannot read body"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[path]++
	if path == SinglePath {
		code, detail := s.ingest(body, false)
		if code != http.StatusOK {
			answer(w, code, map[string]any{"detail": detail})
			return
		}
		answer(w, http.StatusOK, map[string]any{"ok": true})
		return
	}
	var events []json.RawMessage
	if err := json.Unmarshal(body, &events); err != nil {
		s.refusals = append(s.refusals, "batch is not a JSON array")
		answer(w, http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"type": "list_type", "loc": []string{"body"}, "msg": "Input should be a valid list"},
		}})
		return
	}
	failed := 0
	for _, ev := range events {
		if code, _ := s.ingest(ev, true); code != http.StatusOK {
			failed++
		}
	}
	answer(w, http.StatusOK, map[string]any{"ok": true, "total": len(events), "success": len(events) - failed, "failed": failed})
}

// event is what the Local API reads of an event.
type event struct {
	IdempotencyKey *string `json:"idempotency_key"`
	SiteID         *string `json:"site_id"`
	App            *struct {
		Name *string `json:"name"`
	} `json:"app"`
	Entity *struct {
		Type        *string `json:"type"`
		ID          *string `json:"id"`
		BusinessKey *string `json:"business_key"`
	} `json:"entity"`
	Event *struct {
		Kind *string `json:"kind"`
		At   *string `json:"at"`
	} `json:"event"`
}

// ingest stores one event and returns 200, or the status and detail of
// its refusal. Called with s.mu held.
func (s *Server) ingest(raw json.RawMessage, inBatch bool) (int, string) {
	code, detail := s.check(raw)
	if code == http.StatusOK && inBatch && s.flaky > 0 {
		s.flaky--
		code, detail = http.StatusInternalServerError, "database is busy"
	}
	if code != http.StatusOK {
		s.refusals = append(s.refusals, detail)
		return code, detail
	}
	var ev event
	_ = json.Unmarshal(raw, &ev)
	if _, dup := s.stored[*ev.IdempotencyKey]; !dup {
		s.stored[*ev.IdempotencyKey] = append(json.RawMessage(nil), raw...)
		s.order = append(s.order, *ev.IdempotencyKey)
	}
	return http.StatusOK, ""
}

func (s *Server) check(raw json.RawMessage) (int, string) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return http.StatusUnprocessableEntity, "invalid event: " + err.Error()
	}
	switch {
	case ev.IdempotencyKey == nil:
		return http.StatusUnprocessableEntity, "idempotency_key: field required"
	case ev.SiteID == nil:
		return http.StatusUnprocessableEntity, "site_id: field required"
	case ev.App == nil:
		return http.StatusUnprocessableEntity, "app: field required"
	case ev.Entity == nil || ev.Entity.ID == nil || ev.Entity.Type == nil:
		return http.StatusUnprocessableEntity, "entity: type and id required"
	case ev.Event == nil || ev.Event.Kind == nil || ev.Event.At == nil:
		return http.StatusUnprocessableEntity, "event: kind and at required"
	}
	at, err := FromISOFormat(*ev.Event.At)
	if err != nil {
		return http.StatusUnprocessableEntity, err.Error()
	}
	if d := s.Now().Sub(at); d > MaxSkew || d < -MaxSkew {
		return http.StatusUnprocessableEntity, "Event time skew too large"
	}
	if ev.Entity.BusinessKey == nil {
		return http.StatusInternalServerError, `null value in column "job_key" of relation "jobs" violates not-null constraint`
	}
	return http.StatusOK, ""
}

// isoFormat310 is the grammar of Python 3.10's datetime.fromisoformat:
// YYYY-MM-DD[*HH[:MM[:SS[.fff[fff]]]][+HH:MM[:SS[.ffffff]]]].
var isoFormat310 = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:.(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{3}|\d{6}))?)?)?(?:([+-])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{6}))?)?)?)?$`)

// FromISOFormat parses s as Python 3.10's datetime.fromisoformat does; a
// time without an offset is taken as UTC.
func FromISOFormat(s string) (time.Time, error) {
	m := isoFormat310.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("invalid isoformat string: %q", s)
	}
	num := func(i int) int {
		n := 0
		for _, c := range m[i] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	frac := 0
	if m[7] != "" {
		frac = num(7)
		if len(m[7]) == 3 {
			frac *= 1000
		}
	}
	loc := time.UTC
	if m[8] != "" {
		offset := num(9)*3600 + num(10)*60 + num(11)
		if m[8] == "-" {
			offset = -offset
		}
		loc = time.FixedZone("", offset)
	}
	t := time.Date(num(1), time.Month(num(2)), num(3), num(4), num(5), num(6), frac*1000, loc)
	if t.Month() != time.Month(num(2)) || t.Day() != num(3) || num(4) > 23 || num(5) > 59 || num(6) > 59 {
		return time.Time{}, fmt.Errorf("invalid isoformat string: %q", s)
	}
	return t, nil
}

func answer(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
