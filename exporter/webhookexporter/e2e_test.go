package webhookexporter

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

const e2eSecret = "e2e-secret"

// sink is the receiving end of the webhooks: a real HTTP server on a fixed
// loopback port that is down until up is called, which verifies
// every signature and counts events by idempotency key.
type sink struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	byKey    map[string]int
	rejected int // requests answered 503 on purpose
	badSig   int
	throttle int // how many requests to answer 503 with Retry-After first
}

func newSink(t *testing.T) *sink {
	return &sink{t: t, addr: "127.0.0.1:" + strconv.Itoa(testcollector.FreePort(t)), byKey: map[string]int{}}
}

func (s *sink) url() string { return "http://" + s.addr + "/v1/ingest/events:batch" }

func (s *sink) up() {
	s.t.Helper()
	l, err := net.Listen("tcp", s.addr)
	require.NoError(s.t, err)
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	s.t.Cleanup(func() { _ = srv.Close() })
}

func (s *sink) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, []byte(e2eSecret))
	mac.Write([]byte(r.Header.Get("X-Wafermonitor-Timestamp") + "." + string(body)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get("X-Wafermonitor-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		s.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.throttle > 0 {
		s.throttle--
		s.rejected++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var events []v1event.Event
	if err := json.Unmarshal(body, &events); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	for _, ev := range events {
		s.byKey[ev.IdempotencyKey]++
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

// e2eEvents makes n v1 events with distinct idempotency keys.
func e2eEvents(n int) ([]v1event.Event, map[string]bool) {
	events := make([]v1event.Event, n)
	keys := map[string]bool{}
	at := time.Date(2025, 10, 19, 8, 0, 0, 0, time.UTC)
	for i := range events {
		key := fmt.Sprintf("e2e-%04d", i)
		keys[key] = true
		kind, status := "started", "running"
		if i%2 == 1 {
			kind, status = "finished", "succeeded"
		}
		events[i] = v1event.Event{
			IdempotencyKey: key,
			SiteID:         "fab1",
			App:            v1event.App{Name: "e2e", Version: "1.0"},
			Entity:         v1event.Entity{Type: "job", ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i/2)},
			Event: v1event.Body{
				Kind: kind, At: at.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), Status: status,
				Metrics: map[string]float64{"duration_s": 1}, Metadata: map[string]any{},
			},
		}
	}
	return events, keys
}

func postEvents(t *testing.T, receiverURL string, events []v1event.Event) {
	t.Helper()
	postJSON(t, receiverURL+"/v1/ingest/events:batch", events)
}

// postJSON posts body as JSON and requires a 200.
func postJSON(t *testing.T, url string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
}

// TestE2EOutageRestartAndRecovery runs the real collector: events arrive
// while the webhook endpoint is down, the collector is restarted in the
// middle of the outage (the queue is persisted by file_storage), the
// endpoint comes back answering 503 with Retry-After for a while, and then
// every event has arrived; a duplicate, if any, carries the same key.
func TestE2EOutageRestartAndRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	s := newSink(t)
	dir := t.TempDir()
	storage := filepath.Join(dir, "queue")
	require.NoError(t, os.MkdirAll(storage, 0o700))
	recvPort := testcollector.FreePort(t)
	receiverURL := "http://127.0.0.1:" + strconv.Itoa(recvPort)
	config := fmt.Sprintf(`
extensions:
  file_storage:
    directory: %s
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
exporters:
  webhook:
    endpoint: %s
    format: v1
    mode: batch
    max_batch_events: 7
    signing:
      secret: %s
    timeout: 2s
    sending_queue:
      storage: file_storage
      num_consumers: 2
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 300ms
      max_elapsed_time: 0s
    dead_letter:
      path: %s
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [webhook]
`, storage, recvPort, s.url(), e2eSecret, filepath.Join(dir, "dead.jsonl"))

	events, keys := e2eEvents(60)
	c := testcollector.Start(t, config, testcollector.Options{Dir: dir, HealthURL: receiverURL + "/v1/health"})
	postEvents(t, receiverURL, events[:30])
	testcollector.WaitFor(t, 30*time.Second, "the exporter to retry", func() bool {
		return bytes.Contains([]byte(c.Output()), []byte("Will retry the request after interval"))
	})
	c.Stop()

	c = testcollector.Start(t, config, testcollector.Options{Dir: dir, HealthURL: receiverURL + "/v1/health"})
	postEvents(t, receiverURL, events[30:])
	s.mu.Lock()
	s.throttle = 3
	s.mu.Unlock()
	s.up()
	testcollector.WaitFor(t, 60*time.Second, "every event at the endpoint", func() bool { return s.distinct() == len(keys) })

	s.mu.Lock()
	defer s.mu.Unlock()
	for key, n := range s.byKey {
		assert.True(t, keys[key], "unexpected key %s", key)
		if n > 1 {
			t.Logf("event %s arrived %d times (a retry; same idempotency key)", key, n)
		}
	}
	assert.Equal(t, 3, s.rejected, "the endpoint throttled three requests")
	assert.Zero(t, s.badSig, "every signature verifies")
	_, err := os.Stat(filepath.Join(dir, "dead.jsonl"))
	require.NoError(t, err)
	b, _ := os.ReadFile(filepath.Join(dir, "dead.jsonl"))
	assert.Empty(t, b, "nothing was rejected for good")
	assert.False(t, c.Exited())
}

// TestE2ETwoCollectors chains two real collectors: the first sends, in the v1
// format, the events it receives to the second one's wafermonitor receiver
// (as to an old Local API); the second writes what it makes of them to a
// file. The log records on both sides must agree.
func TestE2ETwoCollectors(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	portA, portB := testcollector.FreePort(t), testcollector.FreePort(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	outA, outB := filepath.Join(dirA, "logs.json"), filepath.Join(dirB, "logs.json")
	const cfg = `
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
  %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [%s]
`
	webhook := fmt.Sprintf(`webhook:
    endpoint: http://127.0.0.1:%d/v1/ingest/events:batch
    mode: batch
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 300ms`, portB)
	testcollector.Start(t, fmt.Sprintf(cfg, portB, outB, "", "file"), testcollector.Options{Dir: dirB, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", portB)})
	testcollector.Start(t, fmt.Sprintf(cfg, portA, outA, webhook, "file, webhook"), testcollector.Options{Dir: dirA, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/v1/health", portA)})

	wr := &waferReceiver{endpoint: fmt.Sprintf("http://127.0.0.1:%d", portA)}
	for _, f := range validSamples {
		wr.post(t, samplePath(t, f), f)
	}
	readLogs := func(path string) (plog.Logs, error) {
		out := plog.NewLogs()
		for _, line := range testcollector.ReadJSONLines(t, path) {
			l, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
			if err != nil {
				return out, err
			}
			l.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		}
		return out, nil
	}
	var a, b plog.Logs
	testcollector.WaitFor(t, 30*time.Second, "the 11 events in both collectors' files", func() bool {
		var errA, errB error
		a, errA = readLogs(outA)
		b, errB = readLogs(outB)
		// A line may be half written while we read it.
		return errors.Join(errA, errB) == nil && a.LogRecordCount() == 11 && b.LogRecordCount() == 11
	})
	assert.Equal(t, flattenLogs(t, a), flattenLogs(t, b))
}

// TestE2EAuthExtensionsAndTLS: the collector's bearer token and basic auth
// extensions authenticate the requests, over TLS verified with a CA file,
// with custom headers.
func TestE2EAuthExtensionsAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	type seen struct{ path, auth, team string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Team")})
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	port := testcollector.FreePort(t)
	config := fmt.Sprintf(`
extensions:
  bearertokenauth/hook:
    token: tok-123
  basicauth/hook:
    client_auth:
      username: collector
      password: pw-456
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
exporters:
  webhook/bearer:
    endpoint: %[2]s/bearer
    tls:
      ca_file: %[3]s
    auth:
      authenticator: bearertokenauth/hook
    headers:
      X-Team: litho
  webhook/basic:
    endpoint: %[2]s/basic
    tls:
      ca_file: %[3]s
    auth:
      authenticator: basicauth/hook
service:
  extensions: [bearertokenauth/hook, basicauth/hook]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [webhook/bearer, webhook/basic]
`, port, srv.URL, caFile)
	receiverURL := "http://127.0.0.1:" + strconv.Itoa(port)
	testcollector.Start(t, config, testcollector.Options{Dir: dir, HealthURL: receiverURL + "/v1/health"})
	events, _ := e2eEvents(1)
	postEvents(t, receiverURL, events)
	testcollector.WaitFor(t, 30*time.Second, "both endpoints called", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	assert.ElementsMatch(t, []seen{
		{"/bearer", "Bearer tok-123", "litho"},
		{"/basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("collector:pw-456")), ""},
	}, got)
}
