package zabbixsender // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Config of a Client.
type Config struct {
	// Endpoints are the servers' or proxies' trapper addresses (host:port),
	// tried in order: a request goes to the endpoint that last answered and
	// fails over to the next one when it cannot be reached.
	Endpoints []string
	// TLS, when not nil, wraps every connection (Zabbix's certificate mode;
	// Go has no TLS-PSK, so Zabbix's PSK mode is not available).
	TLS *tls.Config
	// Compress sends zlib-compressed requests (Zabbix 4.0 and later).
	Compress bool
	// MaxValuesPerRequest splits larger sends into several requests.
	MaxValuesPerRequest int
	// ConnectTimeout bounds each connection attempt, so that one unreachable
	// endpoint leaves time for the next; the context bounds the whole send.
	ConnectTimeout time.Duration
	// Now is the clock for the requests' own timestamps (time.Now if nil).
	Now func() time.Time
}

// Client sends values to Zabbix. It is safe for concurrent use; every
// request uses its own connection, as the server closes it after replying.
type Client struct {
	cfg Config

	mu        sync.Mutex
	preferred int
}

// ErrUnavailable is wrapped when no endpoint could take a request.
var ErrUnavailable = errors.New("no zabbix endpoint could take the request")

// New returns a client; it connects only when sending.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("zabbixsender: at least one endpoint is required")
	}
	if cfg.MaxValuesPerRequest <= 0 {
		return nil, fmt.Errorf("zabbixsender: MaxValuesPerRequest must be positive, got %d", cfg.MaxValuesPerRequest)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg}, nil
}

// Result sums the responses of the requests of one Send.
type Result struct {
	Response
	// Requests is how many requests were answered.
	Requests int
	// Answered is how many values, from the first, went in requests that
	// the server answered; the rest were not delivered.
	Answered int
	// Refused lists the answered requests whose response counted failed
	// values: Zabbix says how many of a request's values failed, not which.
	Refused []Refusal
}

// Refusal is an answered request with failed values: values[From:To] of
// the Send.
type Refusal struct {
	From, To int
	Failed   int
}

// Send delivers values in requests of at most MaxValuesPerRequest values and
// sums the replies. It stops at the first request no endpoint could take
// (the error wraps ErrUnavailable) or that a server refused (ErrRefused);
// requests before it were delivered.
func (c *Client) Send(ctx context.Context, values []Value) (Result, error) {
	var res Result
	for start := 0; start < len(values); start += c.cfg.MaxValuesPerRequest {
		end := min(start+c.cfg.MaxValuesPerRequest, len(values))
		resp, err := c.sendOne(ctx, values[start:end])
		if err != nil {
			return res, err
		}
		res.Requests++
		res.Answered = end
		res.Processed += resp.Processed
		res.Failed += resp.Failed
		res.Total += resp.Total
		res.SecondsSpent += resp.SecondsSpent
		res.Info = resp.Info
		if resp.Failed > 0 {
			res.Refused = append(res.Refused, Refusal{From: start, To: end, Failed: resp.Failed})
		}
	}
	return res, nil
}

func (c *Client) sendOne(ctx context.Context, values []Value) (Response, error) {
	now := c.cfg.Now()
	packet, err := Encode(values, c.cfg.Compress, now.Unix(), now.Nanosecond())
	if err != nil {
		return Response{}, err
	}
	c.mu.Lock()
	first := c.preferred
	c.mu.Unlock()
	var errs []error
	for i := range c.cfg.Endpoints {
		idx := (first + i) % len(c.cfg.Endpoints)
		addr := c.cfg.Endpoints[idx]
		resp, err := c.exchange(ctx, addr, packet)
		if err == nil {
			c.mu.Lock()
			c.preferred = idx
			c.mu.Unlock()
			return resp, nil
		}
		if errors.Is(err, ErrRefused) {
			// The server understood the request: another one would too.
			return resp, fmt.Errorf("%s: %w", addr, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return Response{}, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

func (c *Client) exchange(ctx context.Context, addr string, packet []byte) (Response, error) {
	dialCtx := ctx
	if c.cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, c.cfg.ConnectTimeout)
		defer cancel()
	}
	conn, err := c.dial(dialCtx, addr)
	if err != nil {
		return Response{}, err
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return Response{}, err
		}
	}
	// Closing the connection when the context ends unblocks reads and writes.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if _, err := conn.Write(packet); err != nil {
		return Response{}, deadlineCause(ctx, fmt.Errorf("sending: %w", err))
	}
	resp, err := ReadResponse(conn)
	return resp, deadlineCause(ctx, err)
}

// deadlineCause names the context's end as the cause of an I/O error it
// provoked; the connection's deadline can fire a moment before the
// context reports it.
func deadlineCause(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cause := ctx.Err(); cause != nil {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

func (c *Client) dial(ctx context.Context, addr string) (net.Conn, error) {
	if c.cfg.TLS == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	cfg := c.cfg.TLS.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	d := tls.Dialer{Config: cfg}
	return d.DialContext(ctx, "tcp", addr)
}
