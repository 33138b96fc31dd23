package jobs

import (
	"context"
	"fmt"
	"sync"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// blockingRecorder records bodies; while gate is held, OnEmit waits.
type blockingRecorder struct {
	gate   sync.Mutex
	mu     sync.Mutex
	bodies []string
}

func (r *blockingRecorder) OnEmit(_ context.Context, rec *sdklog.Record) error {
	r.gate.Lock()
	r.gate.Unlock() //nolint:staticcheck // an empty critical section: waits for the gate
	r.mu.Lock()
	r.bodies = append(r.bodies, rec.Body().AsString())
	r.mu.Unlock()
	return nil
}
func (r *blockingRecorder) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (r *blockingRecorder) Shutdown(context.Context) error                         { return nil }
func (r *blockingRecorder) ForceFlush(context.Context) error                       { return nil }

func (r *blockingRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func TestEventQueue(t *testing.T) {
	for _, size := range []int{0, 1, 3, 4096} {
		t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
			rec := &blockingRecorder{}
			lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(rec))
			m := NewMonitor(WithLoggerProvider(lp), WithEventQueue(size))
			ctx := context.Background()
			// While the log SDK blocks, the queue fills up: the goroutines
			// that report events must then write them, in order, and drop
			// none.
			rec.gate.Lock()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					_, job := m.StartJob(ctx, fmt.Sprint("lot-", i), WithID(fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", i)))
					job.Progress(1, 2, "")
					job.End()
				}
			}()
			rec.gate.Unlock()
			wg.Wait()
			if err := m.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 10 {
				id := fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", i)
				want = append(want, "job "+id+" started", "job "+id+" progress: 1/2", "job "+id+" finished: succeeded")
			}
			if got := rec.all(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("records\n%q\nwant\n%q", got, want)
			}
			// After Shutdown, events are written right away.
			if err := m.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			_, job := m.StartJob(ctx, "late", WithID("a1b2c3d4-0000-4000-8000-999999999999"))
			if got := rec.all(); got[len(got)-1] != "job a1b2c3d4-0000-4000-8000-999999999999 started" {
				t.Errorf("after Shutdown the last record is %q", got[len(got)-1])
			}
			job.End()
		})
	}
}
