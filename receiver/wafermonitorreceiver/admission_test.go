package wafermonitorreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// waitCondition waits until cond holds: never a fixed sleep, so a slow
// machine only makes the test slower.
func waitCondition(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, time.Minute, time.Millisecond, "waiting for %s", what)
}

// manualWaits replaces the receiver's max_wait clock: every wait lasts
// until the test ends it.
type manualWaits struct {
	mu      sync.Mutex
	cancels []context.CancelCauseFunc
}

func (m *manualWaits) install(a *admission) {
	a.waitContext = func(parent context.Context, _ time.Time) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancelCause(parent)
		m.mu.Lock()
		m.cancels = append(m.cancels, cancel)
		m.mu.Unlock()
		return ctx, func() { cancel(nil) }
	}
}

// expireAll ends every wait begun so far, as max_wait passing would.
func (m *manualWaits) expireAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cancels {
		c(context.DeadlineExceeded)
	}
}

// postAsync posts body and delivers the answer on the returned channel.
func (ts *testServer) postAsync(t *testing.T, path string, body []byte) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		resp, err := http.Post(ts.url+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Errorf("post: %v", err)
			ch <- answer{}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := answer{code: resp.StatusCode, header: resp.Header}
		_ = jsonUnmarshal(raw, &a.body)
		ch <- a
	}()
	return ch
}

func uniqueEvent(t testing.TB, i int) []byte {
	return bytes.Replace(readSample(t, "python-started.json"), []byte("0f8fad5b"), []byte(fmt.Sprintf("%08x", i)), 1)
}

func TestAdmissionWaitsForBytesInsteadOfRefusing(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) {
		c.MaxRequestBodySize = 4096
		c.Admission.MaxBytesInFlight = 4096
	}})
	a := ts.recv.admission
	require.Equal(t, int64(4097), a.budget, "the largest body and one byte past it")
	ctx := context.Background()
	// Requests in flight hold every byte: the next one waits, then is served.
	require.NoError(t, a.acquireBytes(ctx, a.budget))
	answerCh := ts.postAsync(t, "/v1/event", uniqueEvent(t, 1))
	waitCondition(t, "the request to wait", func() bool { return a.waiting.Load() == 1 })
	assert.Equal(t, 0, ts.logs.LogRecordCount())
	a.releaseBytes(a.budget)
	got := <-answerCh
	require.Equal(t, http.StatusOK, got.code, "%v", got.body)
	assert.Equal(t, 1, ts.logs.LogRecordCount())
	assert.Contains(t, ts.metricsText(t), `wafermonitor_receiver_admission_waits_total{for="bytes"} 1`)
	requireBudgetFree(t, a)
}

func TestAdmissionWaitThatRunsOutIs503AndHealthRecovers(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) {
		c.MaxRequestBodySize = 4096
		c.Admission.MaxBytesInFlight = 4096
		c.RetryAfter = 3 * time.Second
	}})
	a := ts.recv.admission
	var waits manualWaits
	waits.install(a)
	require.NoError(t, a.acquireBytes(context.Background(), a.budget))
	answerCh := ts.postAsync(t, "/v1/event", uniqueEvent(t, 1))
	waitCondition(t, "the request to wait", func() bool { return a.waiting.Load() == 1 })
	waits.expireAll()
	got := <-answerCh
	require.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, "3", got.header.Get("Retry-After"))
	assert.Contains(t, fmt.Sprint(got.body["detail"]), "admission::max_bytes_in_flight")
	h := ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, "degraded", h.body["status"])
	assert.Contains(t, h.body["last_error"], "admission::max_bytes_in_flight")

	// Refusals stop: the next accepted request clears degraded.
	a.releaseBytes(a.budget)
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, 2)).code)
	h = ts.do(t, http.MethodGet, "/v1/health", nil, nil)
	assert.Equal(t, "ok", h.body["status"])
	assert.NotContains(t, h.body, "last_error")
	requireBudgetFree(t, a)
}

func TestAdmissionWaitsForADecoder(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) { c.Admission.MaxConcurrentDecodes = 1 }})
	a := ts.recv.admission
	held := decodeSlot{a: a}
	require.NoError(t, held.acquire(context.Background()))
	answerCh := ts.postAsync(t, "/v1/event", uniqueEvent(t, 1))
	waitCondition(t, "the request to wait for a decoder", func() bool { return a.waiting.Load() == 1 })
	held.release()
	got := <-answerCh
	require.Equal(t, http.StatusOK, got.code)

	var waits manualWaits
	waits.install(a)
	require.NoError(t, held.acquire(context.Background()))
	answerCh = ts.postAsync(t, "/v1/event", uniqueEvent(t, 2))
	waitCondition(t, "the request to wait for a decoder", func() bool { return a.waiting.Load() == 1 })
	waits.expireAll()
	got = <-answerCh
	require.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Contains(t, fmt.Sprint(got.body["detail"]), "admission::max_concurrent_decodes")
	text := ts.metricsText(t)
	assert.Contains(t, text, `wafermonitor_receiver_admission_waits_total{for="decoder"} 2`)
	assert.Contains(t, text, `wafermonitor_receiver_events_rejected_total{reason="busy"} 1`)
	held.release()
	requireBudgetFree(t, a)
}

// TestSlowBodiesHoldNoDecoder: connections that trickle their bodies hold
// only their bytes; with a single decoder, normal clients are all served
// meanwhile, and the slow bodies end in 408 at read_timeout.
func TestSlowBodiesHoldNoDecoder(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) {
		c.Admission.MaxConcurrentDecodes = 1
		c.ReadTimeout = time.Hour // the slow bodies are closed by the test
	}})
	a := ts.recv.admission
	body := readSample(t, "python-started.json")
	addr := strings.TrimPrefix(ts.url, "http://")
	var slow []net.Conn
	for range 8 {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		slow = append(slow, conn)
		_, err = fmt.Fprintf(conn, "POST /v1/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
		require.NoError(t, err)
	}
	waitCondition(t, "every slow body to hold its bytes", func() bool {
		if !a.bytes.TryAcquire(a.budget - 8*int64(len(body)) + 1) {
			return true
		}
		a.releaseBytes(a.budget - 8*int64(len(body)) + 1)
		return false
	})
	for i := range 20 {
		got := ts.post(t, "/v1/event", uniqueEvent(t, i))
		require.Equal(t, http.StatusOK, got.code, "normal request %d", i)
	}
	assert.Equal(t, int64(0), a.waiting.Load())
	for _, c := range slow {
		require.NoError(t, c.Close())
	}
	requireBudgetFree(t, a)
}

// requireBudgetFree checks that every byte and decoder was given back.
func requireBudgetFree(t *testing.T, a *admission) {
	t.Helper()
	waitCondition(t, "every request to give its bytes back", func() bool {
		if !a.bytes.TryAcquire(a.budget) {
			return false
		}
		a.releaseBytes(a.budget)
		return true
	})
	require.True(t, a.decoders.TryAcquire(1), "a decoder is free")
	a.decoders.Release(1)
}

// slowReader returns its data in pieces of size, then err.
type slowReader struct {
	data []byte
	size int
	err  error
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, s.err
	}
	n := copy(p, s.data[:min(s.size, len(s.data))])
	s.data = s.data[n:]
	return n, nil
}

func TestReadBodyHoldsWhatItRead(t *testing.T) {
	const limit = 20 << 20
	errSlow := errors.New("read timeout")
	for _, tc := range []struct {
		name      string
		declared  int64
		sent      int
		err       error
		wantErr   error
		wantHeld  int64 // exact, or 0 to check the bound below
		maxFactor int64 // held ≤ maxFactor × sent
	}{
		{name: "small declared body reserved whole", declared: 600, sent: 600, err: io.EOF, wantHeld: 600},
		{name: "declared body cut short holds its declared size", declared: 600, sent: 10, err: errSlow, wantErr: errSlow, wantHeld: 600},
		{name: "large declared body reserved up to its size", declared: 1 << 20, sent: 1 << 20, err: io.EOF, wantHeld: 1 << 20},
		{name: "large declared body sent slowly holds at most twice what it sent", declared: 10 << 20, sent: 70 << 10, err: errSlow, wantErr: errSlow, maxFactor: 2},
		{name: "chunked body", declared: -1, sent: 100 << 10, err: io.EOF, maxFactor: 2},
		{name: "chunked body sent slowly", declared: -1, sent: 300 << 10, err: errSlow, wantErr: errSlow, maxFactor: 2},
		{name: "declared over the limit", declared: limit + 1, wantErr: errBodyTooLarge},
		{name: "shorter than declared", declared: 1000, sent: 10, err: io.EOF, wantErr: io.ErrUnexpectedEOF, wantHeld: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdmission(AdmissionConfig{MaxBytesInFlight: 64 << 20, MaxWait: time.Minute}, limit)
			data := bytes.Repeat([]byte("x"), tc.sent)
			req := &http.Request{ContentLength: tc.declared, Body: io.NopCloser(&slowReader{data: data, size: 4096, err: tc.err})}
			var body heldBody
			err := a.readBody(context.Background(), req, limit, &body)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, data, body.raw)
			}
			assert.Equal(t, int64(cap(body.raw)), body.held, "the buffer is what is held")
			if tc.wantHeld > 0 {
				assert.Equal(t, tc.wantHeld, body.held)
			}
			if tc.maxFactor > 0 {
				assert.LessOrEqual(t, body.held, tc.maxFactor*int64(max(tc.sent, wholeReservation)))
			}
			a.releaseBytes(body.held)
			requireBudgetFree(t, a)
		})
	}
}

// TestSmallestBudgetServesCompressedBodies: with the budget at
// max_request_body_size, a compressed body (of unknown size once decoded)
// is served, and one that decodes past the limit is 413, not a wait.
func TestSmallestBudgetServesCompressedBodies(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) {
		c.MaxRequestBodySize = 4096
		c.Admission.MaxBytesInFlight = 1
	}})
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	header := map[string]string{"Content-Encoding": "gzip"}
	assert.Equal(t, http.StatusOK, ts.do(t, http.MethodPost, "/v1/event", gz(uniqueEvent(t, 1)), header).code)
	assert.Equal(t, http.StatusRequestEntityTooLarge, ts.do(t, http.MethodPost, "/v1/event", gz(bytes.Repeat([]byte(" "), 4097)), header).code)
	assert.Equal(t, http.StatusOK, ts.do(t, http.MethodPost, "/v1/event", gz(append(uniqueEvent(t, 2), bytes.Repeat([]byte(" "), 4096-len(uniqueEvent(t, 2)))...)), header).code)
	requireBudgetFree(t, ts.recv.admission)
}

func TestDeprecatedMaxConcurrentRequests(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	ts := startServer(t, serverOptions{logger: zap.New(core), cfg: func(c *Config) { c.MaxConcurrentRequests = 3 }})
	a := ts.recv.admission
	require.True(t, a.decoders.TryAcquire(3), "three decoders")
	assert.False(t, a.decoders.TryAcquire(1), "no more than three")
	a.decoders.Release(3)
	require.Equal(t, 1, logs.FilterMessageSnippet("max_concurrent_requests is deprecated").Len())
	assert.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, 1)).code)

	both := createDefaultConfig().(*Config)
	both.MaxConcurrentRequests = 3
	both.Admission.MaxConcurrentDecodes = 5
	assert.Equal(t, 5, admissionConfig(both, zap.NewNop()).MaxConcurrentDecodes, "the new key wins")
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// TestClientGoneWhileWaiting: a client that gives up while its request
// waits for a decoder is not a refusal: health stays ok and the event
// counts as client_gone, not busy. (Before its body is read, net/http does
// not watch the connection: such a wait ends at max_wait.)
func TestClientGoneWhileWaiting(t *testing.T) {
	ts := startServer(t, serverOptions{cfg: func(c *Config) { c.Admission.MaxConcurrentDecodes = 1 }})
	a := ts.recv.admission
	held := decodeSlot{a: a}
	require.NoError(t, held.acquire(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/v1/event", bytes.NewReader(uniqueEvent(t, 1)))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	waitCondition(t, "the request to wait", func() bool { return a.waiting.Load() == 1 })
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	waitCondition(t, "the request to be counted", func() bool {
		return strings.Contains(ts.metricsText(t), `wafermonitor_receiver_events_rejected_total{reason="client_gone"} 1`)
	})
	held.release()
	assert.Equal(t, "ok", ts.do(t, http.MethodGet, "/v1/health", nil, nil).body["status"])
	requireBudgetFree(t, a)
}
