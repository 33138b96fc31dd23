package faulttest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

const hostileBodyLimit = 4 << 20

func hostileConfig(port int, out string) string {
	return fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
    max_request_body_size: %d
    read_header_timeout: 2s
    read_timeout: 3s
    deduplication:
      max_keys: 1000
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 160
    spike_limit_mib: 40
exporters:
  file:
    path: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      processors: [memory_limiter]
      exporters: [file]
`, port, hostileBodyLimit, out)
}

func gzipped(t *testing.T, write func(io.Writer)) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	write(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func validEvent(key string) string {
	return `{"idempotency_key":"` + key + `","site_id":"fab1","app":{"name":"hostile","version":"1"},` +
		`"entity":{"type":"job","id":"00000000-0000-4000-8000-000000000001"},` +
		`"event":{"kind":"progress","at":"2026-01-02T03:04:05Z","status":"running","metrics":{},"metadata":{}}}`
}

// TestHostileRequests sends a table of hostile requests to the real
// collector: each gets its expected answer, never a 500, the process does
// not crash and its memory stays bounded; a normal request works after each.
func TestHostileRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	col := testcollector.Start(t, hostileConfig(port, filepath.Join(dir, "out.jsonl")), testcollector.Options{Dir: dir, HealthURL: recv + "/v1/health",
		Env: []string{"GOMEMLIMIT=160MiB"}})

	million := func() []byte {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range 1_000_000 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("{}")
		}
		b.WriteByte(']')
		return b.Bytes()
	}()

	tests := []struct {
		name     string
		path     string
		body     []byte
		header   map[string]string
		want     int
		wantText string
	}{
		{name: "body over max_request_body_size", path: "/v1/event", body: bytes.Repeat([]byte(" "), 30<<20), want: 413},
		{name: "gzip bomb: 1 GiB of spaces in 1 MiB", path: "/v1/ingest/batch", header: map[string]string{"Content-Encoding": "gzip"},
			body: gzipped(t, func(w io.Writer) {
				chunk := bytes.Repeat([]byte(" "), 1<<20)
				for range 1024 {
					_, _ = w.Write(chunk)
				}
			}), want: 413},
		{name: "deep nesting: 100000 arrays", path: "/v1/event", body: []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)), want: 422, wantText: "depth"},
		{name: "deep nesting inside metadata", path: "/v1/event",
			body: []byte(strings.Replace(validEvent("nest"), `"metadata":{}`, `"metadata":{"a":`+strings.Repeat(`{"a":`, 20000)+`1`+strings.Repeat("}", 20001), 1)), want: 422, wantText: "depth"},
		{name: "10^6-item batch", path: "/v1/ingest/batch", body: million, want: 413, wantText: "max_batch_events"},
		{name: "10^6 items behind a repeated events key", path: "/v1/ingest/batch", body: []byte(`{"events":` + string(million) + `,"events":[]}`), want: 413, wantText: "max_batch_events"},
		{name: "10^6 items behind an escaped events key", path: "/v1/ingest/batch", body: []byte(`{"\u0065vents":` + string(million) + `}`), want: 413, wantText: "max_batch_events"},
		{name: "invalid UTF-8 in a string", path: "/v1/event", body: []byte(strings.Replace(validEvent("utf8"), "hostile", "host\xff\xfeile", 1)), want: 200},
		{name: "invalid UTF-8 in a key", path: "/v1/event", body: []byte(strings.Replace(validEvent("utf8-key"), `"metadata":{}`, `"metadata":{"`+"\xc3\x28"+`":1}`, 1)), want: 200},
		{name: "NUL bytes and a lone surrogate", path: "/v1/event", body: []byte(strings.Replace(validEvent("nul"), "hostile", `ho\u0000st\ud800`, 1)), want: 200},
		{name: "truncated gzip", path: "/v1/event", header: map[string]string{"Content-Encoding": "gzip"}, body: gzipped(t, func(w io.Writer) { _, _ = io.WriteString(w, validEvent("gz")) })[:20], want: 400},
		{name: "unknown content encoding", path: "/v1/event", header: map[string]string{"Content-Encoding": "br"}, body: []byte(validEvent("br")), want: 400, wantText: "unsupported Content-Encoding"},
		{name: "empty body", path: "/v1/event", body: nil, want: 422},
		{name: "huge number", path: "/v1/event", body: []byte(strings.Replace(validEvent("num"), `"metrics":{}`, `"metrics":{"x":1e999999}`, 1)), want: 200},
		{name: "10 MB string in a 4 MiB limit", path: "/v1/event", body: []byte(strings.Replace(validEvent("big"), "hostile", strings.Repeat("x", 10<<20), 1)), want: 413},
		{name: "3 MB string within the limit", path: "/v1/event", body: []byte(strings.Replace(validEvent("big3"), `"metadata":{}`, `"metadata":{"blob":"`+strings.Repeat("x", 3<<20)+`"}`, 1)), want: 200},
		{name: "a JSON scalar", path: "/v1/ingest/batch", body: []byte(`"x"`), want: 422},
		{name: "two documents", path: "/v1/event", body: []byte(validEvent("two") + validEvent("three")), want: 422},
		// A snappy block is decoded whole, to the length its header
		// declares, before any limit: snappy is not among the receiver's
		// default compression algorithms.
		{name: "snappy block declaring 4 GiB", path: "/v1/event", header: map[string]string{"Content-Encoding": "snappy"},
			body: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, want: 400, wantText: "unsupported Content-Encoding: snappy"},
		{name: "snappy block bomb: 2.3 MB decoding to 48 MiB", path: "/v1/ingest/batch", header: map[string]string{"Content-Encoding": "snappy"},
			body: snappy.Encode(nil, bytes.Repeat([]byte(" "), 48<<20)), want: 400, wantText: "unsupported Content-Encoding: snappy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, recv+tt.path, bytes.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			msg, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("answer %d %s, want %d", resp.StatusCode, truncateBytes(msg), tt.want)
			}
			if tt.wantText != "" && !bytes.Contains(msg, []byte(tt.wantText)) {
				t.Errorf("answer %s does not mention %q", truncateBytes(msg), tt.wantText)
			}
			if col.Exited() {
				t.Fatal("the collector exited")
			}
			normalRequest(t, recv)
		})
	}

	t.Run("thousands of distinct idempotency keys", func(t *testing.T) {
		// 20,000 keys through a deduplication window of 1,000: every event is
		// accepted and the window stays bounded.
		var wg sync.WaitGroup
		errs := make(chan string, 100)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					var b strings.Builder
					b.WriteByte('[')
					for j := range 50 {
						if j > 0 {
							b.WriteByte(',')
						}
						b.WriteString(validEvent(fmt.Sprintf("k-%d-%d-%d", w, i, j)))
					}
					b.WriteByte(']')
					resp, err := http.Post(recv+"/v1/ingest/batch", "application/json", strings.NewReader(b.String()))
					if err != nil {
						errs <- err.Error()
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 503 {
						errs <- fmt.Sprintf("answer %d", resp.StatusCode)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})

	t.Run("410 idempotency keys of 1 MB", func(t *testing.T) {
		// The deduplication window keeps a digest of each key, not the key:
		// 410 MB of keys do not stay in memory.
		key := strings.Repeat("k", 1<<20)
		for i := range 410 {
			body := validEvent(fmt.Sprintf("%s-%d", key, i))
			resp, err := http.Post(recv+"/v1/event", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d with a 1 MB key: answer %d", i, resp.StatusCode)
			}
		}
		normalRequest(t, recv)
	})

	t.Run("slowloris: headers never finished", func(t *testing.T) {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST /v1/event HTTP/1.1\r\nHost: x\r\n")
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(conn) // the server closes the connection
		if err != nil {
			t.Errorf("connection not closed by the server: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("connection held %s", d)
		}
	})

	t.Run("slowloris: body trickles", func(t *testing.T) {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := validEvent("slow")
		_, _ = fmt.Fprintf(conn, "POST /v1/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		start := time.Now()
		done := make(chan *http.Response, 1)
		go func() {
			resp, _ := http.ReadResponse(bufio.NewReader(conn), nil)
			done <- resp
		}()
		var resp *http.Response
	trickle:
		for i := 0; i < len(body); i++ {
			// Meanwhile other clients are served.
			if i == 3 {
				normalRequest(t, recv)
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				break
			}
			select {
			case resp = <-done:
				break trickle
			case <-time.After(500 * time.Millisecond):
			}
			if time.Since(start) > 15*time.Second {
				break
			}
		}
		if resp == nil {
			select {
			case resp = <-done:
			case <-time.After(10 * time.Second):
			}
		}
		if resp == nil {
			t.Fatalf("no answer after %s", time.Since(start))
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("answer %d, want 408", resp.StatusCode)
		}
		t.Logf("slow body answered %d after %s", resp.StatusCode, time.Since(start).Round(time.Millisecond))
	})

	peak := rssKiB(col.PID(), "VmHWM") / 1024
	t.Logf("peak RSS over all hostile requests: %d MiB", peak)
	fmt.Printf("FAULTTEST %s: %d hostile requests answered as expected, no 500, no crash; peak RSS %d MiB\n", t.Name(), len(tests)+4, peak)
	if peak > 256 {
		t.Errorf("peak RSS %d MiB above 256 MiB", peak)
	}
	if col.Exited() {
		t.Fatal("the collector exited")
	}
	if strings.Contains(col.Output(), "panic") {
		t.Error("the collector logged a panic")
	}
}

func normalRequest(t *testing.T, recv string) {
	t.Helper()
	resp, err := http.Post(recv+"/v1/event", "application/json", strings.NewReader(validEvent(fmt.Sprintf("normal-%d", time.Now().UnixNano()))))
	if err != nil {
		t.Fatalf("normal request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal request got %d", resp.StatusCode)
	}
}

func truncateBytes(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
