package wafermonitorreceiver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The workload of the benchmark harness (internal/benchharness): subjob
// events in the canonical v1 form the Python client sends, half `started`,
// half `finished` with its four metrics. Event n has the idempotency key
// n, is about subjob n/2, of job n/200; the placeholders of a template are
// counters no run reaches, replaced in place.
const (
	peerKeyMark    = "fedcb8000000"
	peerSubjobMark = "fedcb9000000"
	peerJobMark    = "fedcba000000"
)

func peerV1Event(finished bool) []byte {
	kind, status, metrics := "started", "running", ""
	if finished {
		kind, status = "finished", "succeeded"
		metrics = `"metrics":{"cpu_user_s":1.25,"cpu_system_s":0.1,"mem_max_mb":412.5,"duration_s":93.2},`
	}
	return fmt.Appendf(nil, `{"idempotency_key":"e0000000-0000-4000-8000-%s","site_id":"fab1",`+
		`"app":{"app_id":"5f1e2d3c-0000-4000-8000-000000000001","name":"litho-scheduler","version":"1.4.2"},`+
		`"entity":{"type":"subjob","id":"c0000000-0000-4000-8000-%s","parent_id":"a0000000-0000-4000-8000-%s",`+
		`"business_key":"lot-4711","sub_key":"wafer"},"event":{"kind":%q,"at":"2026-12-07T08:00:00.123456+00:00",%s`+
		`"status":%q,"metadata":{}}}`, peerKeyMark, peerSubjobMark, peerJobMark, kind, metrics, status)
}

// peerOTLPEvent is the OTLP/HTTP JSON form of the same event, as the
// harness sends it: the log record the v1 receiver makes of it.
func peerOTLPEvent(v1 []byte) ([]byte, error) {
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters()}
	events, _, prob := r.decode(v1, receiveTime, false)
	if prob != nil {
		return nil, fmt.Errorf("%v", prob)
	}
	c := converter{version: "bench"}
	return (&plog.JSONMarshaler{}).MarshalLogs(c.toLogs(events, receiveTime))
}

// peerRequest is one client's request of one form: the bytes it writes,
// and where the counters go in them.
type peerRequest struct {
	raw                 []byte
	keys, subjobs, jobs []int
}

func newPeerRequest(path string, body []byte) peerRequest {
	raw := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	at := func(mark string) []int {
		var offsets []int
		for i := 0; ; {
			j := bytes.Index(raw[i:], []byte(mark))
			if j < 0 {
				return offsets
			}
			offsets = append(offsets, i+j)
			i += j + len(mark)
		}
	}
	return peerRequest{raw: raw, keys: at(peerKeyMark), subjobs: at(peerSubjobMark), jobs: at(peerJobMark)}
}

// of returns the request of event n.
func (p *peerRequest) of(n uint64) []byte {
	for _, at := range p.keys {
		putHex12(p.raw[at:], n)
	}
	for _, at := range p.subjobs {
		putHex12(p.raw[at:], n/2)
	}
	for _, at := range p.jobs {
		putHex12(p.raw[at:], n/200)
	}
	return p.raw
}

func putHex12(dst []byte, v uint64) {
	for i := 11; i >= 0; i-- {
		dst[i] = "0123456789abcdef"[v&0xf]
		v >>= 4
	}
}

// peerClient is a keep-alive HTTP/1.1 connection written and read by hand,
// so that the client's own work (a write, a read, a status line and a
// Content-Length to parse) stays small beside the receiver's.
type peerClient struct {
	conn net.Conn
	rd   *bufio.Reader
	reqs [2]peerRequest // started, finished
}

func (c *peerClient) do(n uint64) error {
	if _, err := c.conn.Write(c.reqs[n%2].of(n)); err != nil {
		return err
	}
	status, err := c.rd.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("event %d: %q", n, status)
	}
	length := -1
	for {
		line, err := c.rd.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("event %d: no Content-Length", n)
	}
	_, err = c.rd.Discard(length)
	return err
}

// The clients run in a process of their own (this test binary started
// again with peerClientsEnv set), so that the benchmark's process is the
// receivers' alone: its CPU time and allocations are theirs, as the
// harness measures the collector's.
const peerClientsEnv = "WAFERMONITOR_PEER_BENCH_CLIENTS"

func init() {
	if addrs := os.Getenv(peerClientsEnv); addrs != "" {
		if err := runPeerClients(strings.Split(addrs, ","), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// peerClients are the clients of one receiver, and its event counter.
type peerClients struct {
	clients []*peerClient
	next    atomic.Uint64
}

// runPeerClients connects 16 clients to each of v1 (addrs[0]) and OTLP
// (addrs[1]), then serves the commands read from in: "v1 N" or "otlp N"
// sends N requests to that receiver, spread over its clients, and answers
// "ok" on out once they were answered.
func runPeerClients(addrs []string, in io.Reader, out io.Writer) error {
	const clients = 16
	started, finished := peerV1Event(false), peerV1Event(true)
	otlpStarted, err := peerOTLPEvent(started)
	if err != nil {
		return err
	}
	otlpFinished, err := peerOTLPEvent(finished)
	if err != nil {
		return err
	}
	sides := map[string]*peerClients{}
	for name, form := range map[string]struct {
		addr, path string
		bodies     [2][]byte
	}{
		"v1":   {addrs[0], "/v1/event", [2][]byte{started, finished}},
		"otlp": {addrs[1], "/v1/logs", [2][]byte{otlpStarted, otlpFinished}},
	} {
		s := &peerClients{}
		for range clients {
			conn, err := net.Dial("tcp", form.addr)
			if err != nil {
				return err
			}
			defer conn.Close()
			c := &peerClient{conn: conn, rd: bufio.NewReader(conn)}
			for i, body := range form.bodies {
				c.reqs[i] = newPeerRequest(form.path, bytes.Clone(body))
			}
			s.clients = append(s.clients, c)
		}
		sides[name] = s
	}
	commands := bufio.NewScanner(in)
	for commands.Scan() {
		name, count, _ := strings.Cut(commands.Text(), " ")
		n, err := strconv.Atoi(count)
		if err != nil || sides[name] == nil {
			return fmt.Errorf("bad command %q", commands.Text())
		}
		if err := sides[name].send(n); err != nil {
			return err
		}
		if _, err := io.WriteString(out, "ok\n"); err != nil {
			return err
		}
	}
	return commands.Err()
}

// send sends n requests, spread over the clients, each client one at a time.
func (s *peerClients) send(n int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.clients))
	for i, c := range s.clients {
		k := n / len(s.clients)
		if i < n%len(s.clients) {
			k++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range k {
				if err := c.do(s.next.Add(1)); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
