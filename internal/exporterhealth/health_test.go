package exporterhealth

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
)

type statusHost struct {
	component.Host
	events []*componentstatus.Event
}

func (h *statusHost) Report(e *componentstatus.Event) { h.events = append(h.events, e) }

func TestFailingUntilDelivered(t *testing.T) {
	host := &statusHost{Host: componenttest.NewNopHost()}
	a := NewTracker(component.MustNewIDWithName("webhook", "a"), "logs")
	b := NewTracker(component.MustNewID("zabbix"), "traces")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a.now, b.now = func() time.Time { return at }, func() time.Time { return at }
	a.Start(host)
	t.Cleanup(a.Shutdown)
	t.Cleanup(b.Shutdown)

	a.Observe(nil)
	assert.Empty(t, Failing())
	a.Observe(errors.New("connection refused"))
	a.Observe(errors.New("timeout"))
	b.Observe(errors.New("down"))
	assert.Equal(t, []Failure{
		{Exporter: "webhook/a (logs)", Error: "timeout", Since: at},
		{Exporter: "zabbix (traces)", Error: "down", Since: at},
	}, Failing())

	a.Observe(nil)
	b.Shutdown()
	assert.Empty(t, Failing())

	// One status event per change, not per attempt.
	require.Len(t, host.events, 2)
	assert.Equal(t, componentstatus.StatusRecoverableError, host.events[0].Status())
	assert.Equal(t, componentstatus.StatusOK, host.events[1].Status())
}
