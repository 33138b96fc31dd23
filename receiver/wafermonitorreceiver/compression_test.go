package wafermonitorreceiver

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnappyBlockIsNotDecodedByDefault: a snappy block is decoded whole,
// to the length its header declares, before any limit applies; it is left
// out of the default compression_algorithms. The framed format, decoded as
// it is read, is accepted, and a configuration may add "snappy" back.
func TestSnappyBlockIsNotDecodedByDefault(t *testing.T) {
	event := readSample(t, "python-started.json")
	block := snappy.Encode(nil, event)
	var framed bytes.Buffer
	w := snappy.NewBufferedWriter(&framed)
	_, _ = w.Write(event)
	require.NoError(t, w.Close())
	// Five bytes that declare a 4 GiB block.
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}

	ts := startServer(t, serverOptions{})
	a := ts.do(t, http.MethodPost, "/v1/event", block, map[string]string{"Content-Encoding": "snappy"})
	assert.Equal(t, http.StatusBadRequest, a.code)
	assert.Contains(t, a.body["detail"].([]any)[0].(map[string]any)["msg"], "unsupported Content-Encoding: snappy")
	a = ts.do(t, http.MethodPost, "/v1/event", bomb, map[string]string{"Content-Encoding": "snappy"})
	assert.Equal(t, http.StatusBadRequest, a.code)
	a = ts.do(t, http.MethodPost, "/v1/event", framed.Bytes(), map[string]string{"Content-Encoding": "x-snappy-framed"})
	assert.Equal(t, http.StatusOK, a.code)

	withSnappy := startServer(t, serverOptions{cfg: func(c *Config) {
		c.CompressionAlgorithms = append(c.CompressionAlgorithms, "snappy")
	}})
	a = withSnappy.do(t, http.MethodPost, "/v1/event", block, map[string]string{"Content-Encoding": "snappy"})
	assert.Equal(t, http.StatusOK, a.code)
}
