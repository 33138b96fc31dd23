// Package exporterhealth keeps, for the whole process, whether each
// exporter's latest attempt to deliver failed. Exporters behind a sending
// queue fail long after the receiver answered, so a receiver cannot learn of
// those failures from the pipeline; the v1 health path reads this registry
// instead.
//
// An exporter calls Tracker.Observe with the outcome of every delivery
// attempt. On a change between failing and delivering the tracker also
// reports a component status event (recoverable error, then OK), which the
// collector passes to extensions that watch statuses.
package exporterhealth // import "github.com/wafermonitor/wafermonitor/internal/exporterhealth"

import (
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Failure is an exporter whose latest delivery attempt failed.
type Failure struct {
	// Exporter is the exporter's component ID and signal, e.g. "webhook/ops (logs)".
	Exporter string
	// Error is the latest attempt's error.
	Error string
	// Since is when the exporter started failing.
	Since time.Time
}

var (
	mu      sync.Mutex
	failing = map[string]Failure{}
)

// Failing returns the exporters whose latest attempt failed, sorted by name.
func Failing() []Failure {
	mu.Lock()
	defer mu.Unlock()
	out := make([]Failure, 0, len(failing))
	for _, f := range failing {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Failure) int {
		switch {
		case a.Exporter < b.Exporter:
			return -1
		case a.Exporter > b.Exporter:
			return 1
		}
		return 0
	})
	return out
}

// Tracker records one exporter instance's delivery outcomes. A nil
// Tracker records nothing.
type Tracker struct {
	name string
	now  func() time.Time

	mu   sync.Mutex
	host component.Host
	bad  bool
}

// NewTracker returns the tracker of exporter id for one signal.
func NewTracker(id component.ID, signal string) *Tracker {
	return &Tracker{name: id.String() + " (" + signal + ")", now: time.Now}
}

// Start remembers the host to report status events to.
func (t *Tracker) Start(host component.Host) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.host = host
	t.mu.Unlock()
}

// Shutdown forgets the exporter: a stopped exporter does not keep the
// process degraded.
func (t *Tracker) Shutdown() {
	if t == nil {
		return
	}
	mu.Lock()
	delete(failing, t.name)
	mu.Unlock()
}

// Observe records the outcome of one delivery attempt: nil for delivered,
// else the (retryable) error.
func (t *Tracker) Observe(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mu.Lock()
	if err == nil {
		delete(failing, t.name)
	} else {
		f, ok := failing[t.name]
		if !ok {
			f = Failure{Exporter: t.name, Since: t.now()}
		}
		f.Error = err.Error()
		failing[t.name] = f
	}
	mu.Unlock()
	bad := err != nil
	if bad == t.bad {
		return
	}
	t.bad = bad
	if t.host == nil {
		return
	}
	if bad {
		componentstatus.ReportStatus(t.host, componentstatus.NewRecoverableErrorEvent(err))
	} else {
		componentstatus.ReportStatus(t.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}
