// Package statustest has a component host for tests that records the
// status events reported to it, as the collector's host of one pipeline's
// component would.
package statustest // import "github.com/wafermonitor/wafermonitor/internal/statustest"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
)

// Host is a host without extensions that records status events.
type Host struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

var _ componentstatus.Reporter = (*Host)(nil)

// NewHost returns a Host that has recorded nothing.
func NewHost() *Host { return &Host{Host: componenttest.NewNopHost()} }

// Report records e.
func (h *Host) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// Events returns the events reported so far, in order.
func (h *Host) Events() []*componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*componentstatus.Event(nil), h.events...)
}

// Statuses returns the statuses of the events reported so far, in order.
func (h *Host) Statuses() []componentstatus.Status {
	var out []componentstatus.Status
	for _, e := range h.Events() {
		out = append(out, e.Status())
	}
	return out
}
