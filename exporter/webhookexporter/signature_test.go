package webhookexporter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

// readme:verify-go:start
// verifyWebhook checks a request signed by the wafermonitor webhook exporter.
// body is the request body as received (after any Content-Encoding is undone).
func verifyWebhook(secret []byte, h http.Header, body []byte, maxSkew time.Duration, now time.Time) error {
	ts := h.Get("X-Wafermonitor-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or malformed timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return errors.New("timestamp outside the allowed window (replay?)")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(h.Get("X-Wafermonitor-Signature"))) {
		return errors.New("bad signature")
	}
	return nil
}

// readme:verify-go:end

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	return string(b)
}

// signedRequest is one request of the real exporter, signed with secret.
func signedRequest(t *testing.T, secret string) request {
	t.Helper()
	logs, _ := sampleSignals(t, "python-subjob-finished.json")
	reqs := sendLogs(t, logs, func(cfg *Config) { cfg.Signing.Secret = configopaque.String(secret) })
	require.Len(t, reqs, 1)
	return reqs[0]
}

// TestReadmeGoSnippet keeps the README's Go verification code identical to
// the code tested here.
func TestReadmeGoSnippet(t *testing.T) {
	src, err := os.ReadFile("signature_test.go")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)// readme:verify-go:start\n(.*?)\n// readme:verify-go:end`).FindSubmatch(src)
	require.NotNil(t, m)
	assert.Contains(t, readme(t), strings.TrimSpace(string(m[1])), "README.md's Go snippet differs from verifyWebhook in signature_test.go")

	r := signedRequest(t, "s3cr3t")
	require.NoError(t, verifyWebhook([]byte("s3cr3t"), r.header, r.body, 5*time.Minute, fixedNow.Add(time.Minute)))
	assert.ErrorContains(t, verifyWebhook([]byte("other"), r.header, r.body, 5*time.Minute, fixedNow), "bad signature")
	assert.ErrorContains(t, verifyWebhook([]byte("s3cr3t"), r.header, append([]byte(" "), r.body...), 5*time.Minute, fixedNow), "bad signature")
	assert.ErrorContains(t, verifyWebhook([]byte("s3cr3t"), r.header, r.body, 5*time.Minute, fixedNow.Add(time.Hour)), "replay")
	require.NoError(t, verifyWebhook([]byte("s3cr3t"), r.header, r.body, 2*time.Hour, fixedNow.Add(time.Hour)))
}

// TestReadmePythonSnippet runs the README's Python verification code on a
// request of the real exporter.
func TestReadmePythonSnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := exec.LookPath("python3")
	require.NoError(t, err, "python3 is needed (CI installs it in .ci/setup.d/40-python3.sh)")
	m := regexp.MustCompile("(?s)```python\n(.*?)```").FindStringSubmatch(readme(t))
	require.NotNil(t, m, "README.md has a python block")

	r := signedRequest(t, "s3cr3t")
	dir := t.TempDir()
	headers, err := json.Marshal(map[string]string{
		"X-Wafermonitor-Timestamp": r.header.Get("X-Wafermonitor-Timestamp"),
		"X-Wafermonitor-Signature": r.header.Get("X-Wafermonitor-Signature"),
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "headers.json"), headers, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "body"), r.body, 0o600))
	script := m[1] + `
import json, sys
headers = json.load(open(sys.argv[1]))
body = open(sys.argv[2], "rb").read()
now = int(headers["X-Wafermonitor-Timestamp"]) + 60
time.time = lambda: now
print(verify_webhook(b"s3cr3t", headers, body),
      verify_webhook(b"wrong", headers, body),
      verify_webhook(b"s3cr3t", headers, body + b" "))
time.time = lambda: now + 3600
print(verify_webhook(b"s3cr3t", headers, body))
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "verify.py"), []byte(script), 0o600))
	out, err := exec.Command(python, filepath.Join(dir, "verify.py"), filepath.Join(dir, "headers.json"), filepath.Join(dir, "body")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "True False False\nFalse\n", string(out))
}
