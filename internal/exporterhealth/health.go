// Package exporterhealth turns an exporter's delivery outcomes into
// component status events. Exporters behind a sending queue fail long after
// the receiver answered, so the receiver cannot learn of those failures from
// the pipeline: the exporter reports them as the collector's component
// status (a recoverable error, then OK), and the collector passes them to
// the extensions that watch statuses (the pipeline_health extension, which
// the v1 receiver's health answer reads, and health_check).
//
// The collector accepts a status only when it changes (a recoverable error
// cannot follow another), so the Tracker reports on a change between
// failing and delivering, not at every attempt. It keeps no state beyond
// its own exporter instance.
package exporterhealth // import "github.com/wafermonitor/wafermonitor/internal/exporterhealth"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Tracker reports one exporter instance's delivery outcomes to the host it
// was started with. A nil Tracker reports nothing.
type Tracker struct {
	mu      sync.Mutex
	host    component.Host
	failing bool
}

// NewTracker returns a tracker that reports nothing until Start.
func NewTracker() *Tracker { return &Tracker{} }

// Start remembers the host to report status events to.
func (t *Tracker) Start(host component.Host) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.host = host
	t.mu.Unlock()
}

// Shutdown stops reporting: the collector reports the exporter's stopping
// itself.
func (t *Tracker) Shutdown() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.host = nil
	t.mu.Unlock()
}

// Observe records the outcome of one delivery attempt: nil for delivered,
// else the (retryable) error. A change between failing and delivering is
// reported as a recoverable error or OK status event.
func (t *Tracker) Observe(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	failing := err != nil
	if t.host == nil || failing == t.failing {
		return
	}
	t.failing = failing
	if failing {
		componentstatus.ReportStatus(t.host, componentstatus.NewRecoverableErrorEvent(err))
	} else {
		componentstatus.ReportStatus(t.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}
