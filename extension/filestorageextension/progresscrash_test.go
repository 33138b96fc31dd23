package filestorageextension

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// budgetBackend accepts as many log records as its budget allows, and
// refuses the others (the exporter retries them).
type budgetBackend struct {
	mu        sync.Mutex
	budget    int
	delivered map[string]int // by body
}

func newBudgetBackend(budget int) *budgetBackend {
	return &budgetBackend{budget: budget, delivered: map[string]int{}}
}

func (b *budgetBackend) push(_ context.Context, ld plog.Logs) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.budget < ld.LogRecordCount() {
		return errors.New("backend down")
	}
	b.budget -= ld.LogRecordCount()
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range lrs.Len() {
		b.delivered[lrs.At(i).Body().Str()]++
	}
	return nil
}

func (b *budgetBackend) allow(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.budget += n
}

func (b *budgetBackend) got() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.delivered)
}

func item(i int) plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(fmt.Sprintf("item %d", i))
	return ld
}

// copyLocked copies the file as a crash leaves it: between two calls to
// its client, without Close.
func copyLocked(t *testing.T, f *trackedFile, to string) {
	t.Helper()
	f.access.mu.Lock()
	defer f.access.mu.Unlock()
	src, err := os.Open(f.path)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

// TestProgressCrashLosesNothing runs the exporter helper's persistent
// queue on a file: 200 items offered while the backend is down, then 60
// exported, the queue's progress written (the timer), 50 more exported,
// and the file copied as a crash leaves it. On the copy, a new queue
// delivers every item not exported before, and again the 50 exported
// since the progress was last written: no other.
func TestProgressCrashLosesNothing(t *testing.T) {
	const offered, beforeFlush, afterFlush = 200, 60, 50
	dir, crashDir := t.TempDir(), t.TempDir()
	ext := startExtension(t, dir)
	timer := &manualTimer{}
	ext.after = timer.after
	first := newBudgetBackend(0)
	exp := queueExporter(t, ext, first.push, false)
	for i := range offered {
		require.NoError(t, exp.ConsumeLogs(context.Background(), item(i)))
	}
	waitQueue(t, ext, "every item offered", func(q spool.Queue) bool { return q.Items == offered })

	first.allow(beforeFlush)
	waitQueue(t, ext, "the first items exported", func(q spool.Queue) bool { return q.Items == offered-beforeFlush })
	require.True(t, timer.fire(), "a flush was due")
	flushed := first.got()
	first.allow(afterFlush)
	waitQueue(t, ext, "more items exported", func(q spool.Queue) bool { return q.Items == offered-beforeFlush-afterFlush })
	name := fileName(component.KindExporter, csvID, "logs")
	copyLocked(t, ext.clients[filepath.Join(dir, name)], filepath.Join(crashDir, name))
	exported := first.got()
	require.NoError(t, exp.Shutdown(context.Background()))

	again := startExtension(t, crashDir)
	second := newBudgetBackend(offered * 2)
	exp = queueExporter(t, again, second.push, false)
	waitQueue(t, again, "the queue emptied", func(q spool.Queue) bool { return q.Items == 0 })
	require.NoError(t, exp.Shutdown(context.Background()))
	delivered := second.got()

	var resent, exportedSince int
	for i := range offered {
		body := fmt.Sprintf("item %d", i)
		assert.LessOrEqual(t, exported[body], 1, "%s exported twice before the crash", body)
		assert.LessOrEqual(t, delivered[body], 1, "%s delivered twice after the crash", body)
		switch {
		case exported[body] == 0:
			assert.Equal(t, 1, delivered[body], "%s, not exported before the crash, is delivered after it", body)
		case flushed[body] == 1:
			assert.Zero(t, delivered[body], "%s was exported before the progress was written: not sent again", body)
		default:
			exportedSince++
			resent += delivered[body]
		}
	}
	t.Logf("FIGURES items offered %d, exported %d before the crash (%d of them after the progress was last written); "+
		"after the crash %d delivered, %d of them again", offered, len(exported), exportedSince, len(delivered), resent)
	assert.Equal(t, afterFlush, exportedSince)
	assert.Equal(t, exportedSince, resent, "nothing was written after the flush: every item exported since comes again")
}
