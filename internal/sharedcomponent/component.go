package sharedcomponent // import "github.com/wafermonitor/wafermonitor/internal/sharedcomponent"

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

var errShutDown = errors.New("the shared instance was already shut down by another of its pipelines")

// Component is one user's handle on a shared instance: what a factory
// returns, or wraps, for one pipeline. Its Start and Shutdown count once
// each, however often they are called.
type Component[V component.Component] struct {
	in *instance[V]
	// Guarded by in.mu.
	started, done bool
}

// instance is the shared state behind the users' handles.
type instance[V component.Component] struct {
	inner    V
	lifetime Lifetime
	host     *hostWrapper
	forget   func()

	mu sync.Mutex
	// users is the handles given out and not yet shut down or released;
	// starts, how many of them called Start.
	users, starts int
	running       bool
	sending       bool
	// stopping is set at the first user's Shutdown: the instance does not
	// send on its own from then on.
	stopping bool
	startErr error
	// gone is set once the instance is shut down: it takes no new users.
	gone bool
}

func (in *instance[V]) addUser() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.gone {
		return false
	}
	in.users++
	return true
}

// Unwrap returns the shared instance.
func (c *Component[V]) Unwrap() V { return c.in.inner }

// Start records this user's start, adds its host to those the instance's
// status reports reach, and starts the instance when its Lifetime says so.
// A failed start is reported to every user's pipeline.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	in := c.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if c.started {
		return in.startErr
	}
	if in.gone || c.done {
		return errShutDown
	}
	c.started = true
	in.starts++
	in.host.addSource(host)
	all := in.starts == in.users
	due := all || in.lifetime == WhileAnyRuns
	if !in.running && in.startErr == nil && due {
		in.host.use(host)
		if err := in.inner.Start(ctx, in.host); err != nil {
			in.startErr = err
			in.host.Report(componentstatus.NewPermanentErrorEvent(err))
			return err
		}
		in.running = true
	}
	if in.startErr != nil {
		return in.startErr
	}
	if all && in.running && !in.sending && !in.stopping {
		if s, ok := any(in.inner).(Sender); ok {
			s.StartSending()
			in.sending = true
		}
	}
	return nil
}

// Shutdown ends this user's use. The instance stops sending on its own at
// the first user's Shutdown, and shuts down when its Lifetime says so (also
// if it never started: a component's Shutdown is safe before Start and
// releases what its create made). The error is that of the instance's
// Shutdown, returned to the user whose call made it.
func (c *Component[V]) Shutdown(ctx context.Context) error { return c.leave(ctx, false) }

// Release gives back the handle of a user that will never start: its
// factory failed after LoadOrStore. The instance is shut down if no user is
// left. It is meant for the factory, before any user's Start.
func (c *Component[V]) Release(ctx context.Context) error { return c.leave(ctx, true) }

func (c *Component[V]) leave(ctx context.Context, release bool) error {
	in := c.in
	in.mu.Lock()
	if c.done || (release && c.started) {
		in.mu.Unlock()
		return nil
	}
	c.done = true
	in.users--
	if c.started {
		in.starts--
	}
	in.stopping = in.stopping || !release
	if in.sending {
		any(in.inner).(Sender).StopSending()
		in.sending = false
	}
	stays := in.users > 0 && (release || in.lifetime == WhileAnyRuns)
	if in.gone || stays {
		in.mu.Unlock()
		return nil
	}
	err := in.shutdownLocked(ctx)
	in.mu.Unlock()
	in.forget()
	return err
}

// shutdownLocked shuts the instance down once, reporting it to every user's
// pipeline as core's helper does.
func (in *instance[V]) shutdownLocked(ctx context.Context) error {
	in.gone = true
	in.host.Report(componentstatus.NewEvent(componentstatus.StatusStopping))
	err := in.inner.Shutdown(ctx)
	if err != nil {
		in.host.Report(componentstatus.NewPermanentErrorEvent(err))
	} else {
		in.host.Report(componentstatus.NewEvent(componentstatus.StatusStopped))
	}
	return err
}
