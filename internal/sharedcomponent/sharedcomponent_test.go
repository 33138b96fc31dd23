package sharedcomponent

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a component that records its lifecycle calls.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	startErr error
	host     component.Host
}

func (r *recorder) record(call string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
}

func (r *recorder) Start(_ context.Context, host component.Host) error {
	r.record("start")
	r.mu.Lock()
	r.host = host
	r.mu.Unlock()
	return r.startErr
}

func (r *recorder) Shutdown(context.Context) error {
	r.record("shutdown")
	return nil
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// sender is a recorder that also sends on its own.
type sender struct{ recorder }

func (s *sender) StartSending() { s.record("start sending") }
func (s *sender) StopSending()  { s.record("stop sending") }

func TestOneInstancePerKey(t *testing.T) {
	m := NewMap[string, *recorder](WhileAllRun)
	made := 0
	create := func() (*recorder, error) { made++; return &recorder{}, nil }
	a, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	a2, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	b, err := m.LoadOrStore("b", create)
	require.NoError(t, err)
	assert.Equal(t, 2, made)
	assert.Same(t, a.Unwrap(), a2.Unwrap())
	assert.NotSame(t, a.Unwrap(), b.Unwrap())
	loaded, ok := m.Load("b")
	require.True(t, ok)
	assert.Same(t, b.Unwrap(), loaded)
	_, ok = m.Load("c")
	assert.False(t, ok)

	ctx := context.Background()
	for _, c := range []*Component[*recorder]{a, a2, b} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	for _, c := range []*Component[*recorder]{a, a2, b} {
		require.NoError(t, c.Shutdown(ctx))
	}
	_, ok = m.Load("a")
	assert.False(t, ok, "a shut-down instance is forgotten")
	// The key then makes a new instance (a collector reload).
	a3, err := m.LoadOrStore("a", create)
	require.NoError(t, err)
	assert.NotSame(t, a.Unwrap(), a3.Unwrap())
	require.NoError(t, a3.Shutdown(ctx))
}

// Each step is one user's call; after it the instance has seen calls.
type step struct {
	user  int
	start bool // else Shutdown
	calls []string
}

func TestLifetimes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime Lifetime
		sender   bool
		steps    []step
	}{
		{
			name:     "receiver: runs while all its pipelines run",
			lifetime: WhileAllRun,
			steps: []step{
				{0, true, nil},
				{1, true, []string{"start"}},
				{0, false, []string{"start", "shutdown"}},
				{1, false, []string{"start", "shutdown"}},
			},
		},
		{
			name:     "exporter: runs while any of its pipelines runs",
			lifetime: WhileAnyRuns,
			steps: []step{
				{0, true, []string{"start"}},
				{1, true, []string{"start"}},
				{0, false, []string{"start"}},
				{1, false, []string{"start", "shutdown"}},
			},
		},
		{
			name:     "processor: state while any runs, sends while all run",
			lifetime: WhileAnyRuns,
			sender:   true,
			steps: []step{
				{1, true, []string{"start"}},
				{0, true, []string{"start", "start sending"}},
				{1, false, []string{"start", "start sending", "stop sending"}},
				{0, false, []string{"start", "start sending", "stop sending", "shutdown"}},
			},
		},
		{
			name:     "a pipeline stopped before the others started: no sending",
			lifetime: WhileAnyRuns,
			sender:   true,
			steps: []step{
				{0, true, []string{"start"}},
				{0, false, []string{"start"}},
				{1, true, []string{"start"}},
				{2, true, []string{"start"}},
				{1, false, []string{"start"}},
				{2, false, []string{"start", "shutdown"}},
			},
		},
		{
			name:     "one user",
			lifetime: WhileAllRun,
			sender:   true,
			steps: []step{
				{0, true, []string{"start", "start sending"}},
				{0, false, []string{"start", "start sending", "stop sending", "shutdown"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inner component.Component = &recorder{}
			if tc.sender {
				inner = &sender{}
			}
			m := NewMap[string, component.Component](tc.lifetime)
			users := map[int]*Component[component.Component]{}
			for _, s := range tc.steps {
				if users[s.user] == nil {
					c, err := m.LoadOrStore("k", func() (component.Component, error) { return inner, nil })
					require.NoError(t, err)
					users[s.user] = c
				}
			}
			calls := func() []string {
				if s, ok := inner.(*sender); ok {
					return s.Calls()
				}
				return inner.(*recorder).Calls()
			}
			ctx := context.Background()
			for i, s := range tc.steps {
				if s.start {
					require.NoError(t, users[s.user].Start(ctx, componenttest.NewNopHost()))
				} else {
					require.NoError(t, users[s.user].Shutdown(ctx))
				}
				assert.Equal(t, s.calls, calls(), "after step %d", i)
			}
			_, ok := m.Load("k")
			assert.False(t, ok)
		})
	}
}

// Repeated calls of one user count once.
func TestCallsCountOncePerUser(t *testing.T) {
	m := NewMap[int, *recorder](WhileAnyRuns)
	r := &recorder{}
	create := func() (*recorder, error) { return r, nil }
	a, err := m.LoadOrStore(1, create)
	require.NoError(t, err)
	b, err := m.LoadOrStore(1, create)
	require.NoError(t, err)
	ctx := context.Background()
	host := componenttest.NewNopHost()
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, b.Start(ctx, host))
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, a.Shutdown(ctx))
	assert.Equal(t, []string{"start"}, r.Calls(), "b still uses it")
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, []string{"start", "shutdown"}, r.Calls())
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	host := componenttest.NewNopHost()
	m := NewMap[int, *recorder](WhileAnyRuns)
	_, err := m.LoadOrStore(1, func() (*recorder, error) { return nil, errors.New("bad config") })
	require.ErrorContains(t, err, "bad config")
	_, ok := m.Load(1)
	assert.False(t, ok, "a failed create stores nothing")

	busy := &recorder{startErr: errors.New("port busy")}
	a, err := m.LoadOrStore(1, func() (*recorder, error) { return busy, nil })
	require.NoError(t, err)
	b, err := m.LoadOrStore(1, func() (*recorder, error) { return nil, errors.New("not called") })
	require.NoError(t, err)
	require.ErrorContains(t, a.Start(ctx, host), "port busy")
	require.ErrorContains(t, b.Start(ctx, host), "port busy", "every user learns of it")
	assert.Equal(t, []string{"start"}, busy.Calls(), "started once")
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, b.Shutdown(ctx))

	// A receiver's pipeline cannot start once another one stopped it.
	all := NewMap[int, *recorder](WhileAllRun)
	c, err := all.LoadOrStore(1, func() (*recorder, error) { return &recorder{}, nil })
	require.NoError(t, err)
	d, err := all.LoadOrStore(1, func() (*recorder, error) { return nil, errors.New("not called") })
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(ctx))
	require.ErrorIs(t, d.Start(ctx, host), errShutDown)
	require.NoError(t, d.Shutdown(ctx))
}

// A factory that fails after LoadOrStore gives its handle back: the others
// go on as if it never existed, and an instance nobody uses is shut down.
func TestRelease(t *testing.T) {
	ctx := context.Background()
	host := componenttest.NewNopHost()
	m := NewMap[string, *recorder](WhileAllRun)
	r := &recorder{}
	create := func() (*recorder, error) { return r, nil }
	a, err := m.LoadOrStore("k", create)
	require.NoError(t, err)
	failed, err := m.LoadOrStore("k", create)
	require.NoError(t, err)
	require.NoError(t, failed.Release(ctx))
	require.NoError(t, failed.Release(ctx))
	require.NoError(t, a.Start(ctx, host))
	assert.Equal(t, []string{"start"}, r.Calls(), "not waiting for the released user")
	require.NoError(t, a.Shutdown(ctx))

	alone := &recorder{}
	only, err := m.LoadOrStore("alone", func() (*recorder, error) { return alone, nil })
	require.NoError(t, err)
	require.NoError(t, only.Release(ctx))
	assert.Equal(t, []string{"shutdown"}, alone.Calls(), "what create made is released")
	_, ok := m.Load("alone")
	assert.False(t, ok)
}

// Users started and shut down from several goroutines start and shut the
// instance down once.
func TestConcurrentUsers(t *testing.T) {
	ctx := context.Background()
	for _, lifetime := range []Lifetime{WhileAllRun, WhileAnyRuns} {
		t.Run(strconv.Itoa(int(lifetime)), func(t *testing.T) {
			m := NewMap[string, *recorder](lifetime)
			r := &recorder{}
			var users []*Component[*recorder]
			for range 8 {
				c, err := m.LoadOrStore("k", func() (*recorder, error) { return r, nil })
				require.NoError(t, err)
				users = append(users, c)
			}
			var wg sync.WaitGroup
			for _, c := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
				}()
			}
			wg.Wait()
			for _, c := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, c.Shutdown(ctx))
				}()
			}
			wg.Wait()
			assert.Equal(t, []string{"start", "shutdown"}, r.Calls())
		})
	}
}

// A user that starts at once gets a started handle, or none: an instance
// that does not fit it is given back, one that fails to start is shut down.
func TestLoadAndStart(t *testing.T) {
	ctx := context.Background()
	host := componenttest.NewNopHost()
	m := NewMap[string, *recorder](WhileAnyRuns)
	r := &recorder{}
	create := func() (*recorder, error) { return r, nil }
	fits := func(*recorder) error { return nil }
	a, err := m.LoadAndStart(ctx, host, "k", create, fits)
	require.NoError(t, err)
	_, err = m.LoadAndStart(ctx, host, "k", create, func(*recorder) error { return errors.New("other settings") })
	require.ErrorContains(t, err, "other settings")
	require.NoError(t, a.Shutdown(ctx))
	assert.Equal(t, []string{"start", "shutdown"}, r.Calls(), "the misfit was no user")

	_, err = m.LoadAndStart(ctx, host, "k", func() (*recorder, error) { return nil, errors.New("bad config") }, fits)
	require.ErrorContains(t, err, "bad config")
	busy := &recorder{startErr: errors.New("read-only")}
	_, err = m.LoadAndStart(ctx, host, "k", func() (*recorder, error) { return busy, nil }, fits)
	require.ErrorContains(t, err, "read-only")
	assert.Equal(t, []string{"start", "shutdown"}, busy.Calls())
	_, ok := m.Load("k")
	assert.False(t, ok)
}
