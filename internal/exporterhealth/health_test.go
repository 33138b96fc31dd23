package exporterhealth

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type statusHost struct {
	component.Host
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) { h.events = append(h.events, e) }

func (h *statusHost) statuses() []componentstatus.Status {
	var out []componentstatus.Status
	for _, e := range h.events {
		out = append(out, e.Status())
	}
	return out
}

func TestOneStatusEventPerChange(t *testing.T) {
	host := &statusHost{Host: componenttest.NewNopHost()}
	tr := NewTracker()
	tr.Observe(errors.New("before start")) // no host yet: nothing reported
	tr.Start(host)

	tr.Observe(nil) // delivering, as the collector already assumes after start
	tr.Observe(errors.New("connection refused"))
	tr.Observe(errors.New("timeout"))
	tr.Observe(nil)
	tr.Observe(nil)
	tr.Observe(errors.New("down again"))
	tr.Shutdown()
	tr.Observe(nil) // after shutdown: nothing reported

	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusRecoverableError, componentstatus.StatusOK, componentstatus.StatusRecoverableError,
	}, host.statuses())
	assert.EqualError(t, host.events[0].Err(), "connection refused", "the error that started the failure")
	assert.EqualError(t, host.events[2].Err(), "down again")

	var none *Tracker
	none.Start(host)
	none.Observe(errors.New("x"))
	none.Shutdown()
	assert.Len(t, host.events, 3)
}
