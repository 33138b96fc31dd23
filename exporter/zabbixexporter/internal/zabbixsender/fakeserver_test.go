package zabbixsender

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// fakeServer is a trapper on loopback: it decodes each request and answers
// with reply(request) framed like a Zabbix server, then closes.
type fakeServer struct {
	t        *testing.T
	ln       net.Listener
	reply    func(req senderRequest) []byte
	mu       sync.Mutex
	requests []senderRequest
	flags    []byte
	wg       sync.WaitGroup
}

func newFakeServer(t *testing.T, ln net.Listener) *fakeServer {
	t.Helper()
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	s := &fakeServer{t: t, ln: ln}
	s.reply = func(req senderRequest) []byte {
		return successReply(len(req.Data), 0)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *fakeServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			req, flags, err := readRequest(conn)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.requests = append(s.requests, req)
			s.flags = append(s.flags, flags)
			reply := s.reply
			s.mu.Unlock()
			if out := reply(req); out != nil {
				_, _ = conn.Write(out)
			}
		}()
	}
}

func (s *fakeServer) received() []senderRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]senderRequest(nil), s.requests...)
}

func (s *fakeServer) setReply(f func(senderRequest) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = f
}

func readRequest(r io.Reader) (senderRequest, byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return senderRequest{}, 0, err
	}
	if string(hdr[:4]) != headerMagic {
		return senderRequest{}, 0, fmt.Errorf("bad magic %q", hdr[:4])
	}
	body := make([]byte, binary.LittleEndian.Uint32(hdr[5:9]))
	if _, err := io.ReadFull(r, body); err != nil {
		return senderRequest{}, 0, err
	}
	if hdr[4]&flagCompressed != 0 {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return senderRequest{}, 0, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return senderRequest{}, 0, err
		}
		if want := binary.LittleEndian.Uint32(hdr[9:13]); int(want) != len(body) {
			return senderRequest{}, 0, fmt.Errorf("reserved field %d, uncompressed %d", want, len(body))
		}
	}
	var req senderRequest
	err := json.Unmarshal(body, &req)
	return req, hdr[4], err
}

func successReply(processed, failed int) []byte {
	return rawReply(fmt.Sprintf(`{"response":"success","info":"processed: %d; failed: %d; total: %d; seconds spent: 0.000055"}`,
		processed, failed, processed+failed), false)
}

func rawReply(body string, compress bool) []byte {
	out, err := frame([]byte(body), compress)
	if err != nil {
		panic(err)
	}
	return out
}
