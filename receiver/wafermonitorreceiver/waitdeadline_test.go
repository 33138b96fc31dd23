package wafermonitorreceiver

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countWaitContexts counts the wait contexts a makes from now on.
func countWaitContexts(a *admission) *atomic.Int64 {
	var made atomic.Int64
	real := a.waitContext
	a.waitContext = func(parent context.Context, arrived time.Time) (context.Context, context.CancelFunc) {
		made.Add(1)
		return real(parent, arrived)
	}
	return &made
}

// A request's waits end max_wait after it arrived, however late its first
// wait begins; the context behind them is made once, when first asked for.
func TestWaitDeadlineIsMaxWaitAfterArrival(t *testing.T) {
	a := newAdmission(AdmissionConfig{MaxBytesInFlight: 1 << 20, MaxWait: time.Hour}, 1024)
	made := countWaitContexts(a)
	arrived := time.Now().Add(-time.Minute)

	never := a.deadline(context.Background(), arrived)
	never.release()
	assert.Zero(t, made.Load(), "a request that never waited")

	d := a.deadline(context.Background(), arrived)
	deadline, ok := d.Deadline()
	require.True(t, ok)
	assert.Equal(t, arrived.Add(time.Hour), deadline)
	require.NoError(t, d.Err())
	select {
	case <-d.Done():
		t.Fatal("done before max_wait")
	default:
	}
	assert.Equal(t, int64(1), made.Load())
	d.release()
	assert.ErrorIs(t, d.Err(), context.Canceled)

	expired := a.deadline(context.Background(), time.Now().Add(-2*time.Hour))
	<-expired.Done()
	assert.ErrorIs(t, context.Cause(expired), context.DeadlineExceeded)
	expired.release()

	parent, cancel := context.WithCancel(context.Background())
	gone := a.deadline(parent, time.Now())
	cancel()
	<-gone.Done()
	assert.ErrorIs(t, gone.Err(), context.Canceled)
	gone.release()
}

// Requests served without waiting make no wait context, and so no timer.
func TestRequestsThatDoNotWaitMakeNoDeadline(t *testing.T) {
	ts := startServer(t, serverOptions{})
	made := countWaitContexts(ts.recv.admission)
	for i := range 20 {
		require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", uniqueEvent(t, i)).code)
	}
	assert.Zero(t, made.Load())
	assert.Equal(t, 20, ts.logs.LogRecordCount())
}
