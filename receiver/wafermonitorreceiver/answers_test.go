package wafermonitorreceiver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The answers of accepted requests are written as json.Marshal writes them.
func TestAcceptedAnswersAsJSON(t *testing.T) {
	for _, a := range []acceptedSingle{{}, {OK: true, Accepted: 1}, {OK: true, Duplicates: 1}, {Accepted: -3, Duplicates: 1 << 40}} {
		want, err := json.Marshal(a)
		require.NoError(t, err)
		require.Equal(t, string(want), string(a.appendJSON(nil)))
	}
	for _, a := range []acceptedBatch{{}, {OK: true, Total: 100, Accepted: 98, Duplicates: 2, Spooled: 98}, {Total: -1, Spooled: 1 << 50}} {
		want, err := json.Marshal(a)
		require.NoError(t, err)
		require.Equal(t, string(want), string(a.appendJSON(nil)))
	}
}

// Every answer declares its length and is never sent chunked, as the old
// sidecar's were: the accepted ones (whose Content-Length the server sets)
// and the refusals, however long.
func TestAnswersDeclareTheirLength(t *testing.T) {
	ts := startServer(t, serverOptions{})
	manyBad := "[" + strings.TrimSuffix(strings.Repeat(`{"idempotency_key":"k","event":{}},`, 200), ",") + "]"
	for _, tc := range []struct {
		name, path string
		body       []byte
		code       int
		atLeast    int // bytes of the answer
	}{
		{"single", "/v1/event", readSample(t, "python-started.json"), http.StatusOK, 0},
		{"duplicate", "/v1/event", readSample(t, "python-started.json"), http.StatusOK, 0},
		{"batch", "/v1/events/batch", readSample(t, "python-batch-array.json"), http.StatusOK, 0},
		{"invalid", "/v1/event", []byte(`{"event":`), http.StatusUnprocessableEntity, 0},
		{"many problems", "/v1/events/batch", []byte(manyBad), http.StatusUnprocessableEntity, 4096}, // beyond net/http's 2 KiB buffer
		{"unknown path", "/v1/nothing", nil, http.StatusNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(ts.url+tc.path, "application/json", bytes.NewReader(tc.body))
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.code, resp.StatusCode, "%s", raw)
			require.GreaterOrEqual(t, len(raw), tc.atLeast)
			assert.Empty(t, resp.TransferEncoding)
			assert.Equal(t, int64(len(raw)), resp.ContentLength)
			assert.Equal(t, strconv.Itoa(len(raw)), resp.Header.Get("Content-Length"))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.True(t, json.Valid(raw), "%s", raw)
		})
	}
}
