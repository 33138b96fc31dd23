// Package faulttest runs the real otelcol-wafermonitor binary through
// faults: a backend that is down, a SIGKILL, a full disk, overload, hostile
// requests and unauthenticated clients. Every server runs on 127.0.0.1.
package faulttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// webhookSink is the webhook backend: a real HTTP server on a fixed
// loopback port that can be taken down (connections refused) and brought
// back. It counts deliveries by idempotency key.
type webhookSink struct {
	t    testing.TB
	addr string

	mu    sync.Mutex
	srv   *http.Server
	byKey map[string]int
}

func newWebhookSink(t testing.TB) *webhookSink {
	s := &webhookSink{t: t, addr: "127.0.0.1:" + strconv.Itoa(testcollector.FreePort(t)), byKey: map[string]int{}}
	t.Cleanup(s.down)
	return s
}

func (s *webhookSink) url() string { return "http://" + s.addr + "/hook" }

func (s *webhookSink) up() {
	s.t.Helper()
	var l net.Listener
	var err error
	// The port may linger for a moment after down.
	for range 100 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("webhook sink: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

func (s *webhookSink) down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (s *webhookSink) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var events []v1event.Event
	if err := json.Unmarshal(body, &events); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	s.mu.Lock()
	for _, ev := range events {
		s.byKey[ev.IdempotencyKey]++
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// deliveries returns a copy of the delivery counts by key.
func (s *webhookSink) deliveries() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.byKey))
	for k, n := range s.byKey {
		out[k] = n
	}
	return out
}

// client is a v1 API client that keeps its own record: every event it
// sent, and those the collector accepted (200).
type client struct {
	url  string
	http *http.Client

	mu          sync.Mutex
	sent        map[string]bool
	accepted    map[string]bool
	statuses    map[int]int
	noRetryHdr  int // 503 answers without a Retry-After header
	transportEr int
	next        int
	prefix      string
}

func newClient(receiverURL, prefix string) *client {
	return &client{
		url: receiverURL + "/v1/ingest/batch", prefix: prefix,
		http:     &http.Client{Timeout: 10 * time.Second},
		sent:     map[string]bool{},
		accepted: map[string]bool{},
		statuses: map[int]int{},
	}
}

// makeEvents returns n new events with keys never used before.
func (c *client) makeEvents(n int) []v1event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	events := make([]v1event.Event, n)
	for i := range events {
		c.next++
		events[i] = v1event.Event{
			IdempotencyKey: fmt.Sprintf("%s-%07d", c.prefix, c.next),
			SiteID:         "fab1",
			App:            v1event.App{Name: "faulttest", Version: "1.0"},
			Entity:         v1event.Entity{Type: semconv.EntityTypeJob, ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", c.next)},
			Event: v1event.Body{
				Kind: semconv.KindProgress, At: at.Add(time.Duration(c.next) * time.Millisecond).Format(time.RFC3339Nano),
				Status: "running", Metrics: map[string]float64{"progress": 0.5}, Metadata: map[string]any{},
			},
		}
	}
	return events
}

// post sends one batch and records the answer; it returns the status code
// (0 when the request did not get an answer).
func (c *client) post(events []v1event.Event) int {
	body, _ := json.Marshal(events)
	c.mu.Lock()
	for _, e := range events {
		c.sent[e.IdempotencyKey] = true
	}
	c.mu.Unlock()
	resp, err := c.http.Post(c.url, "application/json", bytes.NewReader(body))
	if err != nil {
		c.mu.Lock()
		c.transportEr++
		c.mu.Unlock()
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statuses[resp.StatusCode]++
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		c.noRetryHdr++
	}
	if resp.StatusCode == http.StatusOK {
		for _, e := range events {
			c.accepted[e.IdempotencyKey] = true
		}
	}
	return resp.StatusCode
}

// steady posts a batch of size events every interval until stop is closed;
// a refused batch is retried (as a real client does) before new ones.
func (c *client) steady(size int, interval time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var pending []v1event.Event
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if pending == nil {
				pending = c.makeEvents(size)
			}
			if c.post(pending) == http.StatusOK {
				pending = nil
			}
		}
	}()
	return &wg
}

func (c *client) acceptedKeys() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.accepted))
	for k := range c.accepted {
		out[k] = true
	}
	return out
}

// figures are what every fault test prints.
type figures struct {
	Sent, Accepted, Delivered, Duplicates, Lost int
}

// tally compares what the client saw accepted with what the backend got.
func (c *client) tally(delivered map[string]int) (figures, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := figures{Sent: len(c.sent), Accepted: len(c.accepted)}
	var lost []string
	for k, n := range delivered {
		if c.sent[k] {
			f.Delivered++
			f.Duplicates += n - 1
		}
	}
	for k := range c.accepted {
		if delivered[k] == 0 {
			f.Lost++
			if len(lost) < 10 {
				lost = append(lost, k)
			}
		}
	}
	return f, lost
}

func (f figures) String() string {
	return fmt.Sprintf("events sent=%d accepted=%d delivered=%d duplicates=%d lost=%d", f.Sent, f.Accepted, f.Delivered, f.Duplicates, f.Lost)
}

// report logs the figures with t.Logf and as a final FAULTTEST line, and
// fails the test when an accepted event is missing.
func report(t *testing.T, f figures, lost []string, extra string) {
	t.Helper()
	t.Logf("figures: %s %s", f, extra)
	fmt.Printf("FAULTTEST %s: %s %s\n", t.Name(), f, extra)
	if f.Lost > 0 {
		t.Errorf("%d accepted events never reached the backend, e.g. %v", f.Lost, lost)
	}
	if f.Accepted == 0 {
		t.Error("no event was accepted")
	}
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(url string, v any) (int, error) {
	resp, err := http.Get(url) //nolint:gosec // loopback test URL
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return resp.StatusCode, errors.Join(err, fmt.Errorf("body %q", b))
	}
	return resp.StatusCode, nil
}
