package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"bytes"
	"io"
	"net/http"
)

// maxPresize bounds the buffer allocated up front from a request's
// Content-Length, which the client chooses; larger bodies grow as they are
// read (max_request_body_size still applies).
const maxPresize = 1 << 20

// readBody reads a request body into a buffer sized from its
// Content-Length, in one allocation for the bodies clients send, where
// io.ReadAll grows its buffer from 512 bytes and copies it each time.
func readBody(req *http.Request) ([]byte, error) {
	if req.ContentLength <= 0 {
		return io.ReadAll(req.Body)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(req.ContentLength, maxPresize)+bytes.MinRead))
	_, err := buf.ReadFrom(req.Body)
	return buf.Bytes(), err
}
