// Package freeport hands out loopback TCP ports for collectors that tests
// and the benchmark harness start.
package freeport // import "github.com/wafermonitor/wafermonitor/internal/freeport"

import (
	"net"
	"sync"
)

// handedOut holds the ports Get returned in this process: the kernel may
// give a port that was just closed again, and two listeners of one
// collector on the same port fail its start.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// Get returns a loopback TCP port that was free a moment ago and that no
// earlier call in this process returned. Another process may still take it
// before the collector listens on it.
func Get() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, err
		}
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
}
