package zabbixsender // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	headerMagic = "ZBXD"
	headerSize  = 13 // magic, flags, data length, reserved

	flagProtocol   = 0x01
	flagCompressed = 0x02
	flagLarge      = 0x04

	// MaxResponseSize bounds what is read from a server: replies to sender
	// data are a few hundred bytes.
	MaxResponseSize = 1 << 20
)

// Value is one value for one item of one host.
type Value struct {
	// Host is the host's technical name in Zabbix.
	Host string `json:"host"`
	// Key is the item key, e.g. wafer.status["app","lot-4711","job"].
	Key string `json:"key"`
	// Value is the value as text; the server converts it to the item's type.
	Value string `json:"value"`
	// Clock and NS are the value's time (Unix seconds and nanoseconds).
	Clock int64 `json:"clock"`
	NS    int   `json:"ns"`
}

type senderRequest struct {
	Request string  `json:"request"`
	Data    []Value `json:"data"`
	Clock   int64   `json:"clock"`
	NS      int     `json:"ns"`
}

// Encode frames values as one sender data request, compressed with zlib
// when compress is set. now is the request's own clock.
func Encode(values []Value, compress bool, nowSec int64, nowNS int) ([]byte, error) {
	payload, err := json.Marshal(senderRequest{Request: "sender data", Data: values, Clock: nowSec, NS: nowNS})
	if err != nil {
		return nil, err
	}
	return frame(payload, compress)
}

func frame(payload []byte, compress bool) ([]byte, error) {
	flags := byte(flagProtocol)
	body := payload
	reserved := uint32(0)
	if compress {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		if _, err := zw.Write(payload); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		body = buf.Bytes()
		flags |= flagCompressed
		reserved = uint32(len(payload)) //nolint:gosec // payloads are far below 4 GiB
	}
	if uint64(len(body)) > 1<<32-1 {
		return nil, fmt.Errorf("request of %d bytes is too large for the Zabbix protocol", len(body))
	}
	out := make([]byte, headerSize, headerSize+len(body))
	copy(out, headerMagic)
	out[4] = flags
	binary.LittleEndian.PutUint32(out[5:9], uint32(len(body))) //nolint:gosec // checked above
	binary.LittleEndian.PutUint32(out[9:13], reserved)
	return append(out, body...), nil
}

// Response is the server's answer to one sender data request.
type Response struct {
	// Processed, Failed and Total count values as the server reports them.
	Processed, Failed, Total int
	// SecondsSpent is the server's own processing time.
	SecondsSpent float64
	// Info is the server's info line, as sent.
	Info string
}

// ErrProtocol is wrapped by every error about a malformed reply.
var ErrProtocol = errors.New("zabbix protocol")

// ErrRefused is wrapped when the server answers with a response other
// than "success": it understood the request and refused it.
var ErrRefused = errors.New("zabbix server refused the request")

// ReadResponse reads one framed reply from r.
func ReadResponse(r io.Reader) (Response, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:5]); err != nil {
		return Response{}, fmt.Errorf("reading the reply header: %w", err)
	}
	if string(hdr[:4]) != headerMagic {
		return Response{}, fmt.Errorf("%w: reply does not start with ZBXD (got %q)", ErrProtocol, hdr[:4])
	}
	flags := hdr[4]
	var length, reserved uint64
	if flags&flagLarge != 0 {
		// Large packets use 8-byte length fields.
		var ext [16]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return Response{}, fmt.Errorf("reading the reply header: %w", err)
		}
		length = binary.LittleEndian.Uint64(ext[0:8])
		reserved = binary.LittleEndian.Uint64(ext[8:16])
	} else {
		if _, err := io.ReadFull(r, hdr[5:]); err != nil {
			return Response{}, fmt.Errorf("reading the reply header: %w", err)
		}
		length = uint64(binary.LittleEndian.Uint32(hdr[5:9]))
		reserved = uint64(binary.LittleEndian.Uint32(hdr[9:13]))
	}
	if flags&flagProtocol == 0 {
		return Response{}, fmt.Errorf("%w: unknown reply flags 0x%02x", ErrProtocol, flags)
	}
	if length > MaxResponseSize {
		return Response{}, fmt.Errorf("%w: reply of %d bytes exceeds %d", ErrProtocol, length, MaxResponseSize)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return Response{}, fmt.Errorf("reading the reply body: %w", err)
	}
	if flags&flagCompressed != 0 {
		if reserved > MaxResponseSize {
			return Response{}, fmt.Errorf("%w: uncompressed reply of %d bytes exceeds %d", ErrProtocol, reserved, MaxResponseSize)
		}
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return Response{}, fmt.Errorf("%w: compressed reply: %w", ErrProtocol, err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, MaxResponseSize+1))
		if err != nil {
			return Response{}, fmt.Errorf("%w: compressed reply: %w", ErrProtocol, err)
		}
		if len(body) > MaxResponseSize {
			return Response{}, fmt.Errorf("%w: uncompressed reply exceeds %d bytes", ErrProtocol, MaxResponseSize)
		}
	}
	return ParseResponse(body)
}

// ParseResponse parses the JSON of a reply to sender data.
func ParseResponse(body []byte) (Response, error) {
	var doc struct {
		Response *string `json:"response"`
		Info     string  `json:"info"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Response{}, fmt.Errorf("%w: reply is not JSON: %w", ErrProtocol, err)
	}
	if doc.Response == nil {
		return Response{}, fmt.Errorf("%w: reply has no \"response\" field", ErrProtocol)
	}
	if *doc.Response != "success" {
		return Response{Info: doc.Info}, fmt.Errorf("%w: response %q: %s", ErrRefused, *doc.Response, doc.Info)
	}
	resp, err := ParseInfo(doc.Info)
	if err != nil {
		return Response{Info: doc.Info}, err
	}
	return resp, nil
}

// ParseInfo parses "processed: N; failed: M; total: T; seconds spent: S".
func ParseInfo(info string) (Response, error) {
	resp := Response{Info: info}
	seen := 0
	for _, part := range strings.Split(info, ";") {
		name, val, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		var err error
		switch name {
		case "processed":
			resp.Processed, err = parseCount(val)
		case "failed":
			resp.Failed, err = parseCount(val)
		case "total":
			resp.Total, err = parseCount(val)
		case "seconds spent":
			resp.SecondsSpent, err = strconv.ParseFloat(val, 64)
		default:
			continue
		}
		if err != nil {
			return resp, fmt.Errorf("%w: info %q: field %q: %w", ErrProtocol, info, name, err)
		}
		seen++
	}
	if seen == 0 {
		return resp, fmt.Errorf("%w: info %q has none of processed, failed, total", ErrProtocol, info)
	}
	return resp, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err == nil && n < 0 {
		return 0, errors.New("negative count")
	}
	return n, err
}
