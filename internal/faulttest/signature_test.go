package faulttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

const hookSecret = "hmac-7Kp2-secret"

// verify is what a webhook receiver does: HMAC-SHA256 of timestamp + "." +
// body, compared in constant time, and a timestamp within maxSkew.
func verify(secret string, ts, sig string, body []byte, now time.Time) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	return hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

// TestWebhookSignatureTamper: a request signed by the real collector
// verifies; every tampered variant (body, timestamp, signature, secret,
// replay later) does not; and the secret is not in the collector's output.
func TestWebhookSignatureTamper(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	type captured struct {
		ts, sig string
		body    []byte
	}
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Get("X-Wafermonitor-Timestamp"), r.Header.Get("X-Wafermonitor-Signature"), b})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	port := testcollector.FreePort(t)
	recv := "http://127.0.0.1:" + strconv.Itoa(port)
	col := testcollector.Start(t, fmt.Sprintf(`
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%d
exporters:
  webhook:
    endpoint: %s
    signing:
      secret: ${env:HOOK_SECRET}
service:
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor]
      exporters: [webhook]
`, port, srv.URL), testcollector.Options{HealthURL: recv + "/v1/health", Env: []string{"HOOK_SECRET=" + hookSecret}})
	c := newClient(recv, "sig")
	if code := c.post(c.makeEvents(3)); code != 200 {
		t.Fatalf("post: %d", code)
	}
	testcollector.WaitFor(t, 20*time.Second, "a signed request", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	mu.Lock()
	r := got[0]
	mu.Unlock()
	now := time.Now()
	if !verify(hookSecret, r.ts, r.sig, r.body, now) {
		t.Fatalf("the untampered request does not verify: %+v", r)
	}
	ts, _ := strconv.ParseInt(r.ts, 10, 64)
	flipped := append([]byte(nil), r.body...)
	flipped[len(flipped)/2] ^= 1
	for _, tt := range []struct {
		name    string
		ts, sig string
		body    []byte
		secret  string
		now     time.Time
	}{
		{"one bit of the body flipped", r.ts, r.sig, flipped, hookSecret, now},
		{"body truncated", r.ts, r.sig, r.body[:len(r.body)-1], hookSecret, now},
		{"event kind changed", r.ts, r.sig, []byte(strings.Replace(string(r.body), `"progress"`, `"finished"`, 1)), hookSecret, now},
		{"timestamp moved by 1 s", strconv.FormatInt(ts+1, 10), r.sig, r.body, hookSecret, now},
		{"signature of another request", r.ts, "sha256=" + strings.Repeat("0", 64), r.body, hookSecret, now},
		{"signature missing", r.ts, "", r.body, hookSecret, now},
		{"wrong secret", r.ts, r.sig, r.body, hookSecret + "x", now},
		{"replayed an hour later", r.ts, r.sig, r.body, hookSecret, now.Add(time.Hour)},
	} {
		if verify(tt.secret, tt.ts, tt.sig, tt.body, tt.now) {
			t.Errorf("%s: still verifies", tt.name)
		}
	}
	if strings.Contains(col.Output(), hookSecret) {
		t.Error("the signing secret is in the collector's output")
	}
	fmt.Printf("FAULTTEST %s: the real exporter's signature verifies; 8 tampered variants are rejected; secret not in debug output\n", t.Name())
}
