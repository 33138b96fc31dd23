package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// protocol is one way of sending the workload to the collector.
type protocol struct {
	name        string
	enc         encoding
	contentType string
	path        func(batch bool) string
	port        func(c *collector) int
	// spans: after each request, the spans of its terminal events (OTLP
	// JSON) go to /v1/traces in a second request, the whole output the v1
	// receiver makes of the events but for its cumulative metrics.
	spans bool
}

// The names of the protocols the report's tables read.
const (
	protoV1        = "v1"
	protoOTLPJSON  = "otlp-json"
	protoOTLPSpans = "otlp-json-spans"
)

// tracesPath is where OTLP/HTTP takes spans.
const tracesPath = "/v1/traces"

var protocols = []protocol{
	{name: protoV1, enc: encV1, contentType: "application/json",
		path: func(batch bool) string {
			if batch {
				return "/v1/events/batch"
			}
			return "/v1/event"
		},
		port: func(c *collector) int { return c.v1Port }},
	{name: protoOTLPJSON, enc: encOTLPJSON, contentType: "application/json",
		path: func(bool) string { return "/v1/logs" }, port: func(c *collector) int { return c.otlpPort }},
	{name: "otlp-proto", enc: encOTLPProto, contentType: "application/x-protobuf",
		path: func(bool) string { return "/v1/logs" }, port: func(c *collector) int { return c.otlpPort }},
	// Last: measured in the default pipeline's target cells only
	// (protocolsFor).
	{name: protoOTLPSpans, enc: encOTLPJSON, contentType: "application/json", spans: true,
		path: func(bool) string { return "/v1/logs" }, port: func(c *collector) int { return c.otlpPort }},
}

// requester sends one protocol's requests for one mode.
type requester struct {
	client  *http.Client
	url     string
	ctype   string
	tmpls   [2]*template // by parity of the first event: started first, finished first
	counter *atomic.Uint64
	events  eventMapping
	// spans are the templates of the spans sent after each request, by
	// the same parity (nil: none), to tracesURL.
	spans     [2]*template
	tracesURL string
}

func newRequester(client *http.Client, c *collector, p protocol, m mode, counter *atomic.Uint64, events eventMapping) *requester {
	r := &requester{client: client, ctype: p.contentType, counter: counter, events: events,
		url: fmt.Sprintf("http://127.0.0.1:%d%s", p.port(c), p.path(m.batch()))}
	r.tmpls[0] = newTemplate(p.enc, m.events, true, m.batch())
	if m.events%2 == 1 {
		r.tmpls[1] = newTemplate(p.enc, m.events, false, m.batch())
	} else {
		r.tmpls[1] = r.tmpls[0]
	}
	if p.spans {
		r.tracesURL = fmt.Sprintf("http://127.0.0.1:%d%s", p.port(c), tracesPath)
		r.spans = [2]*template{newSpanTemplate(m.events, true), newSpanTemplate(m.events, m.events%2 == 0)}
	}
	return r
}

// httpError is an answer other than 200.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// unit is how many requests a client sends in order, each once the one
// before it is answered: a subjob's started and finished events, as a real
// client sends them, when a request carries one event; one request when it
// carries a batch (of whole subjobs). Sent by different clients at once, a
// finished event could overtake its started one and leave the subjob open.
func (r *requester) unit() int {
	if r.tmpls[0].events%2 == 1 {
		return 2
	}
	return 1
}

// reserve takes the counter values of the events of the next unit.
func (r *requester) reserve() uint64 {
	n := uint64(r.unit() * r.tmpls[0].events)
	return r.counter.Add(n) - n
}

// sendUnit sends the requests of the unit whose first event has counter
// value first, each once the one before it is answered and not before
// due(i), and records each latency from due(i).
func (r *requester) sendUnit(ctx context.Context, buf []byte, first uint64, due func(i int) time.Time, t *tally) []byte {
	for i := 0; i < r.unit(); i++ {
		at := due(i)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		var err error
		buf, err = r.send(ctx, buf, first+uint64(i*r.tmpls[0].events))
		t.record(err, time.Since(at))
	}
	return buf
}

// send renders and posts the request whose first event has counter value
// first, and then the request of their spans if the protocol sends spans
// and any of the events is terminal; buf is the caller's scratch.
func (r *requester) send(ctx context.Context, buf []byte, first uint64) ([]byte, error) {
	body := r.tmpls[first%2].render(buf, first, r.events)
	if err := r.post(ctx, r.url, body); err != nil {
		return body, err
	}
	spans := r.spans[first%2]
	if spans == nil {
		return body, nil
	}
	// The collector read the first body before it answered: buf is free.
	body = spans.render(body, first, r.events)
	return body, r.post(ctx, r.tracesURL, body)
}

// post sends body to url and reads the answer.
func (r *requester) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", r.ctype)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		return &httpError{status: resp.StatusCode, msg: fmt.Sprintf("%s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(msg))}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil
}

// sample is what one cell of the run measured.
type sample struct {
	requests  int
	events    int
	errors    int
	byStatus  map[int]int // errors by HTTP status; 0: no answer (timeout, connection)
	firstErr  string
	elapsed   time.Duration
	latencies []time.Duration
	cpu       time.Duration // collector user+system CPU during the cell
	peakRSS   uint64        // collector VmHWM during the cell, bytes
	late      int           // open loop: units whose first request was sent more than 1 ms after its time
	io        ioCounters    // collector's /proc/PID/io during the cell
	csvBytes  int64         // growth of the CSV files in the data directory
	mem       memStatsDelta // the collector's Go allocator during the cell
	// cpuProfile and heapProfile are the files of the cell's profiles, if taken.
	cpuProfile, heapProfile string
}

// tally is one worker's count, merged into the cell's sample at its end.
type tally struct {
	n, errs  int
	byStatus map[int]int
	firstErr error
	lat      []time.Duration
}

func (t *tally) record(err error, latency time.Duration) {
	if err != nil {
		t.errs++
		if t.byStatus == nil {
			t.byStatus = map[int]int{}
		}
		var he *httpError
		if errors.As(err, &he) {
			t.byStatus[he.status]++
		} else {
			t.byStatus[0]++
		}
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.lat = append(t.lat, latency)
	t.n++
}

// addCounts adds src's counts to dst, which it makes when needed.
func addCounts(dst, src map[int]int) map[int]int {
	for k, n := range src {
		if dst == nil {
			dst = map[int]int{}
		}
		dst[k] += n
	}
	return dst
}

func (t *tally) mergeInto(mu *sync.Mutex, out *sample) {
	mu.Lock()
	defer mu.Unlock()
	out.requests += t.n
	out.errors += t.errs
	out.byStatus = addCounts(out.byStatus, t.byStatus)
	if t.firstErr != nil && out.firstErr == "" {
		out.firstErr = t.firstErr.Error()
	}
	out.latencies = append(out.latencies, t.lat...)
}

// closedLoop runs m.clients clients for d.
func closedLoop(ctx context.Context, r *requester, m mode, d time.Duration) sample {
	var (
		mu  sync.Mutex
		out sample
		wg  sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for c := 0; c < m.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := tally{lat: make([]time.Duration, 0, 4096)}
			var buf []byte
			// Units in flight at the end are finished and counted (the
			// cell's elapsed time includes them), so no connection is cut.
			for time.Now().Before(end) && ctx.Err() == nil {
				buf = r.sendUnit(ctx, buf, r.reserve(), func(int) time.Time { return time.Now() }, &t)
			}
			t.mergeInto(&mu, &out)
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	out.events = out.requests * m.events
	return out
}

// openLoop sends m.rate requests/s for d whatever the answers' delay (but
// for the second request of a unit, which waits for the first one's answer),
// and measures each latency from the time the request was due, so that a
// stall counts against every request it delays (no coordinated omission).
func openLoop(ctx context.Context, r *requester, m mode, d time.Duration) sample {
	ctx, cancel := context.WithTimeout(ctx, d+5*time.Second)
	defer cancel()
	interval := time.Second / time.Duration(m.rate)
	unit := r.unit()
	units := int(d/interval) / unit
	due := make(chan time.Time, units)
	var (
		mu   sync.Mutex
		out  sample
		wg   sync.WaitGroup
		late atomic.Int64
	)
	// Enough workers that a slow answer never holds the schedule up.
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			t := tally{lat: make([]time.Duration, 0, units*unit/64+16)}
			for at := range due {
				// Late: the load generator, not the collector, held it up.
				if time.Since(at) > time.Millisecond {
					late.Add(1)
				}
				buf = r.sendUnit(ctx, buf, r.reserve(), func(i int) time.Time { return at.Add(time.Duration(i) * interval) }, &t)
			}
			t.mergeInto(&mu, &out)
		}()
	}
	start := time.Now()
	for i := 0; i < units && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i*unit) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		due <- at
	}
	close(due)
	wg.Wait()
	out.elapsed = time.Since(start)
	out.events = out.requests * m.events
	out.late = int(late.Load())
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}
