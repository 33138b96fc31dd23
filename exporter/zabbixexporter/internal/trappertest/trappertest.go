// Package trappertest is a fake Zabbix trapper on loopback for unit tests:
// it decodes sender data requests (plain or zlib) on its own, records them
// and answers as a Zabbix 6.0 server does.
package trappertest // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// Value is one value of a request, as the server decoded it.
type Value struct {
	Host  string `json:"host"`
	Key   string `json:"key"`
	Value string `json:"value"`
	Clock int64  `json:"clock"`
	NS    int    `json:"ns"`
}

// Request is one decoded request.
type Request struct {
	Request string  `json:"request"`
	Data    []Value `json:"data"`
	Clock   int64   `json:"clock"`
	NS      int     `json:"ns"`
	// Flags is the header's flags byte.
	Flags byte `json:"-"`
}

// Reply decides the answer to a request: the info line's counts, or nil to
// close the connection without answering.
type Reply func(Request) *Counts

// Counts are the numbers of a reply.
type Counts struct{ Processed, Failed int }

// Server is a fake trapper.
type Server struct {
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	reply    Reply
	refuse   func(Value) bool
	requests []Request
	stored   []Value
	storedAt map[storedKey]bool
}

type storedKey struct {
	host, key string
	clock     int64
	ns        int
}

// Start listens on 127.0.0.1 (or uses ln) and serves until the test ends.
// By default every value is processed.
func Start(t testing.TB, ln net.Listener) *Server {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{ln: ln, storedAt: map[storedKey]bool{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening and waits for open connections.
func (s *Server) Close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

// SetReply changes how the server answers; nil restores the default.
func (s *Server) SetReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply, s.refuse = r, nil
}

// SetRefuse makes the server answer as one that has no item for the values
// refuse picks: it counts them as failed, and stores and counts as
// processed the others. nil restores the default.
func (s *Server) SetRefuse(refuse func(Value) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply, s.refuse = nil, refuse
}

// Stored returns the values the server stored, in arrival order, keeping
// one value per host, key, clock and ns as Zabbix does. Values answered by
// a Reply set with SetReply are not stored.
func (s *Server) Stored() []Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Value(nil), s.stored...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Values returns every value received so far, in order.
func (s *Server) Values() []Value {
	var out []Value
	for _, r := range s.Requests() {
		out = append(out, r.Data...)
	}
	return out
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { _ = conn.Close() }()
			req, err := ReadRequest(conn)
			if err != nil {
				return
			}
			c := s.answer(req)
			if c != nil {
				_, _ = conn.Write(Frame(fmt.Sprintf(`{"response":"success","info":"processed: %d; failed: %d; total: %d; seconds spent: 0.000100"}`, c.Processed, c.Failed, c.Processed+c.Failed)))
			}
		}()
	}
}

func (s *Server) answer(req Request) *Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if s.reply != nil {
		return s.reply(req)
	}
	c := &Counts{}
	for _, v := range req.Data {
		if s.refuse != nil && s.refuse(v) {
			c.Failed++
			continue
		}
		c.Processed++
		if k := (storedKey{v.Host, v.Key, v.Clock, v.NS}); !s.storedAt[k] {
			s.storedAt[k] = true
			s.stored = append(s.stored, v)
		}
	}
	return c
}

// ReadRequest decodes one framed request.
func ReadRequest(r io.Reader) (Request, error) {
	var hdr [13]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Request{}, err
	}
	if string(hdr[:4]) != "ZBXD" || hdr[4]&0x01 == 0 {
		return Request{}, errors.New("not a Zabbix protocol header")
	}
	body := make([]byte, binary.LittleEndian.Uint32(hdr[5:9]))
	if _, err := io.ReadFull(r, body); err != nil {
		return Request{}, err
	}
	if hdr[4]&0x02 != 0 {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return Request{}, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return Request{}, err
		}
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return Request{}, err
	}
	req.Flags = hdr[4]
	return req, nil
}

// Frame frames a reply body.
func Frame(body string) []byte {
	out := make([]byte, 13, 13+len(body))
	copy(out, "ZBXD\x01")
	binary.LittleEndian.PutUint32(out[5:9], uint32(len(body))) //nolint:gosec // test replies are small
	return append(out, body...)
}
