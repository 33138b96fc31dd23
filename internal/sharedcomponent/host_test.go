package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/wafermonitor/wafermonitor/internal/statustest"
)

var (
	ok          = componentstatus.StatusOK
	recoverable = componentstatus.StatusRecoverableError
	permanent   = componentstatus.StatusPermanentError
	stopping    = componentstatus.StatusStopping
	stopped     = componentstatus.StatusStopped
)

// What the shared instance reports reaches every user's pipeline, as with
// core's helper; a user that starts after the instance first receives the
// latest events.
func TestStatusReachesEveryPipeline(t *testing.T) {
	ctx := context.Background()
	m := NewMap[string, *recorder](WhileAnyRuns)
	r := &recorder{}
	logs, err := m.LoadOrStore("k", func() (*recorder, error) { return r, nil })
	require.NoError(t, err)
	traces, err := m.LoadOrStore("k", func() (*recorder, error) { return r, nil })
	require.NoError(t, err)
	logsHost, tracesHost := statustest.NewHost(), statustest.NewHost()

	require.NoError(t, logs.Start(ctx, logsHost))
	report := func(s componentstatus.Status) {
		ev := componentstatus.NewEvent(s)
		if s == recoverable {
			ev = componentstatus.NewRecoverableErrorEvent(errors.New("backend down"))
		}
		componentstatus.ReportStatus(r.host, ev)
	}
	report(recoverable)
	assert.Equal(t, []componentstatus.Status{recoverable}, logsHost.Statuses())

	require.NoError(t, traces.Start(ctx, tracesHost))
	assert.Equal(t, []componentstatus.Status{recoverable}, tracesHost.Statuses(), "replayed to the later user")
	report(ok)
	assert.Equal(t, []componentstatus.Status{recoverable, ok}, logsHost.Statuses())
	assert.Equal(t, []componentstatus.Status{recoverable, ok}, tracesHost.Statuses())

	require.NoError(t, logs.Shutdown(ctx))
	require.NoError(t, traces.Shutdown(ctx))
	for _, h := range []*statustest.Host{logsHost, tracesHost} {
		assert.Equal(t, []componentstatus.Status{recoverable, ok, stopping, stopped}, h.Statuses())
	}
}

// A shared receiver that cannot start fails every pipeline it serves, not
// only the one whose Start started it.
func TestFailedStartReachesEveryPipeline(t *testing.T) {
	ctx := context.Background()
	m := NewMap[string, *recorder](WhileAllRun)
	r := &recorder{startErr: errors.New("address in use")}
	var users []*Component[*recorder]
	var hosts []*statustest.Host
	for range 3 {
		c, err := m.LoadOrStore("k", func() (*recorder, error) { return r, nil })
		require.NoError(t, err)
		users = append(users, c)
		hosts = append(hosts, statustest.NewHost())
	}
	require.NoError(t, users[0].Start(ctx, hosts[0]))
	require.NoError(t, users[1].Start(ctx, hosts[1]))
	require.ErrorContains(t, users[2].Start(ctx, hosts[2]), "address in use")
	for i, h := range hosts {
		assert.Equal(t, []componentstatus.Status{permanent}, h.Statuses(), "pipeline %d", i)
	}
	for _, c := range users {
		require.NoError(t, c.Shutdown(ctx))
	}
}

// The instance sees the extensions of the host it started with.
func TestExtensionsOfTheHost(t *testing.T) {
	ctx := context.Background()
	id := component.MustNewID("file_storage")
	ext := &recorder{}
	host := &extensionsHost{Host: statustest.NewHost(), ext: map[component.ID]component.Component{id: ext}}
	m := NewMap[string, *recorder](WhileAnyRuns)
	r := &recorder{}
	c, err := m.LoadOrStore("k", func() (*recorder, error) { return r, nil })
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, host))
	assert.Same(t, ext, r.host.GetExtensions()[id])
	require.NoError(t, c.Shutdown(ctx))
	assert.Nil(t, newHostWrapper().GetExtensions(), "before any start")
}

type extensionsHost struct {
	*statustest.Host
	ext map[component.ID]component.Component
}

func (h *extensionsHost) GetExtensions() map[component.ID]component.Component { return h.ext }
