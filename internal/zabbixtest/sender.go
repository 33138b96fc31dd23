package zabbixtest

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// WaitAccepts sends a value for host and key to the trapper until the
// server processes it: the server takes values for a new host only after
// its next configuration sync. Use an item the test does not look at.
func (s *Server) WaitAccepts(host, key string, timeout time.Duration) {
	s.t.Helper()
	s.WaitAcceptsTLS(host, key, nil, timeout)
}

// WaitAcceptsTLS is WaitAccepts over TLS, for a host that takes
// certificate connections only; tlsCfg nil sends in plain TCP.
func (s *Server) WaitAcceptsTLS(host, key string, tlsCfg *tls.Config, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info, err := s.send(host, key, "0", tlsCfg)
		if err == nil && strings.HasPrefix(info, "processed: 1;") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("Zabbix did not take a value for %s %s within %s: %q %v", host, key, timeout, info, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// send makes one sender request (the trapper protocol: "ZBXD", flags 1,
// the payload's length as 8 bytes little-endian, the JSON) and returns the
// answer's info.
func (s *Server) send(host, key, value string, tlsCfg *tls.Config) (string, error) {
	payload, err := json.Marshal(map[string]any{"request": "sender data", "data": []map[string]string{{"host": host, "key": key, "value": value}}})
	if err != nil {
		return "", err
	}
	var conn net.Conn
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if tlsCfg != nil {
		conn, err = tls.DialWithDialer(dialer, "tcp", s.Trapper, tlsCfg)
	} else {
		conn, err = dialer.Dial("tcp", s.Trapper)
	}
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	header := make([]byte, 13)
	copy(header, "ZBXD\x01")
	binary.LittleEndian.PutUint64(header[5:], uint64(len(payload)))
	if _, err := conn.Write(append(header, payload...)); err != nil {
		return "", err
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	if len(answer) < 13 {
		return "", fmt.Errorf("short answer %q", answer)
	}
	var resp struct {
		Info string `json:"info"`
	}
	if err := json.Unmarshal(answer[13:], &resp); err != nil {
		return "", err
	}
	return resp.Info, nil
}
