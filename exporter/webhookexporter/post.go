package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// post sends one request and classifies the answer like core's otlphttp
// exporter: 2xx is success; 408, 429 and 5xx are retried (429 and 503 after
// the Retry-After delay when one is sent); any other status is permanent.
// On success it returns the start of the answer's body.
func (e *webhookExporter) post(ctx context.Context, url string, body []byte, contentType, key string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, e.cfg.Method, url, bytes.NewReader(body))
	if err != nil {
		return nil, consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", e.userAgent)
	ts := strconv.FormatInt(e.now().Unix(), 10)
	req.Header.Set(e.cfg.Signing.TimestampHeader, ts)
	if secret := string(e.cfg.Signing.Secret); secret != "" {
		req.Header.Set(e.cfg.Signing.SignatureHeader, sign([]byte(secret), ts, body))
	}
	if e.cfg.IdempotencyHeader != "" && key != "" {
		req.Header.Set(e.cfg.IdempotencyHeader, key)
	}

	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s failed: %w", e.cfg.Method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return snippet, nil
	}
	statusErr := &statusError{method: e.cfg.Method, url: url, code: resp.StatusCode, body: string(snippet)}
	if !retryableStatus(resp.StatusCode) {
		return nil, consumererror.NewPermanent(statusErr)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if delay, ok := retryAfter(resp.Header.Get("Retry-After"), e.now()); ok {
			return nil, exporterhelper.NewThrottleRetry(statusErr, delay)
		}
	}
	return nil, statusErr
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// maxRetryAfter bounds the delay an endpoint can ask for, so that a wrong
// header cannot park the queue for days.
const maxRetryAfter = time.Hour

// retryAfter parses Retry-After: delay seconds or an HTTP date.
func retryAfter(value string, now time.Time) (time.Duration, bool) {
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		return time.Duration(min(max(seconds, 0), int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if date, err := http.ParseTime(value); err == nil {
		return min(max(date.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// statusError is an answer other than 2xx.
type statusError struct {
	method string
	url    string
	code   int
	body   string
}

func (s *statusError) Error() string {
	method := s.method
	if method == "" {
		method = http.MethodPost
	}
	msg := fmt.Sprintf("%s %s answered HTTP %d", method, s.url, s.code)
	if s.body != "" {
		msg += ": " + s.body
	}
	return msg
}
