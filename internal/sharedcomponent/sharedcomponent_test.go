package sharedcomponent

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type counting struct {
	starts, shutdowns int
	startErr          error
}

func (c *counting) Start(context.Context, component.Host) error { c.starts++; return c.startErr }
func (c *counting) Shutdown(context.Context) error              { c.shutdowns++; return nil }

func TestOneInstancePerKey(t *testing.T) {
	m := NewMap[string, *counting]()
	made := 0
	create := func() (*counting, error) { made++; return &counting{}, nil }
	a, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	a2, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	b, err := m.LoadOrStore("b", create)
	require.NoError(t, err)
	assert.Same(t, a, a2)
	assert.NotSame(t, a, b)
	assert.Equal(t, 2, made)

	host := componenttest.NewNopHost()
	require.NoError(t, a.Start(context.Background(), host))
	assert.Equal(t, 0, a.Unwrap().starts, "not before its second user starts")
	require.NoError(t, a2.Start(context.Background(), host))
	assert.Equal(t, 1, a.Unwrap().starts)
	require.NoError(t, a.Shutdown(context.Background()))
	require.NoError(t, a2.Shutdown(context.Background()))
	assert.Equal(t, 1, a.Unwrap().shutdowns)

	loaded, ok := m.Load("b")
	assert.True(t, ok)
	assert.Same(t, b, loaded)

	// After shutdown the key makes a new instance (a collector reload).
	a3, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	assert.NotSame(t, a, a3)
}

func TestErrors(t *testing.T) {
	m := NewMap[int, *counting]()
	_, err := m.LoadOrStore(1, func() (*counting, error) { return nil, errors.New("bad config") })
	require.Error(t, err)
	c, err := m.LoadOrStore(1, func() (*counting, error) { return &counting{startErr: errors.New("port busy")}, nil })
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.Error(t, c.Start(context.Background(), host))
	assert.Equal(t, 1, c.Unwrap().starts)
}
