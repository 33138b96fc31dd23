package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// bbolt reads its file through a read-only shared memory map: every page
// it reads (the B+tree pages a write walks and rewrites, the values a
// component reads back at start) stays mapped and counts in the collector's
// RSS until the file is closed or grows past its map. Over hours of work
// that is the whole file, for every queue and the processor's state. Once a
// file is quiet, its mapped pages are released (madvise MADV_DONTNEED).
// The data stays in the page cache and on disk; the next read faults the
// page back in from there.
//
// Safety. bbolt never writes through the map (PROT_READ; it writes with
// pwrite), so the map holds no page that only it has: dropping its pages
// loses nothing. The only danger would be a map that bbolt replaces while
// the range is released: its address could by then belong to other memory
// of the process. bbolt maps and unmaps the file only when it opens it,
// when a write transaction grows it (in a call to the client) and when it
// closes it; contrib's online compaction (compaction::on_rebound) also
// closes and reopens it, in a goroutine of its own. So the release holds
// the file's access lock exclusively, which every call to the client holds
// shared, skips a closed client, finds the map in /proc/self/maps by the
// file's path and inode and read-only shared mode while holding it, and is
// off when on_rebound compaction is configured.

// releaseInterval is how often the files are looked at: a file that no
// call used during a whole interval is released, once.
const releaseInterval = 2 * time.Second

// fileAccess is what the release knows of a client's use.
type fileAccess struct {
	// mu is held shared by every call to the client, exclusively by Close
	// and by a release.
	mu     sync.RWMutex
	closed bool // under mu
	// uses counts the calls; seen is its value at the last look and
	// released at the last release (both only read and written by the
	// release loop, under releaseMu).
	uses           atomic.Uint64
	seen, released uint64
}

// begin is called before a call to the client, the returned func after it.
func (a *fileAccess) begin() func() {
	a.mu.RLock()
	return func() {
		a.uses.Add(1)
		a.mu.RUnlock()
	}
}

// accessClient is a client whose calls hold its file's access lock.
type accessClient struct {
	storage.Client
	access *fileAccess
}

func (c *accessClient) Get(ctx context.Context, key string) ([]byte, error) {
	defer c.access.begin()()
	return c.Client.Get(ctx, key)
}

func (c *accessClient) Set(ctx context.Context, key string, value []byte) error {
	defer c.access.begin()()
	return c.Client.Set(ctx, key, value)
}

func (c *accessClient) Delete(ctx context.Context, key string) error {
	defer c.access.begin()()
	return c.Client.Delete(ctx, key)
}

func (c *accessClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	defer c.access.begin()()
	return c.Client.Batch(ctx, ops...)
}

func (c *accessClient) Close(ctx context.Context) error {
	c.access.mu.Lock()
	defer c.access.mu.Unlock()
	c.access.closed = true
	return c.Client.Close(ctx)
}

// releaseLoop releases quiet files every releaseInterval until stop is
// closed.
func (e *fileStorage) releaseLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(releaseInterval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			e.releaseQuiet()
		}
	}
}

// releaseQuiet releases the map of every open file that was used since its
// last release and not since the last look.
func (e *fileStorage) releaseQuiet() {
	e.releaseMu.Lock()
	defer e.releaseMu.Unlock()
	e.mu.Lock()
	files := make([]*trackedFile, 0, len(e.clients))
	for _, f := range e.clients {
		files = append(files, f)
	}
	e.mu.Unlock()
	for _, f := range files {
		a := &f.access
		uses := a.uses.Load()
		quiet := uses == a.seen
		a.seen = uses
		if !quiet || uses == a.released {
			continue
		}
		a.released = uses
		if err := e.release(f); err != nil {
			e.logger.Debug("Could not release the mapped pages of a storage file", zap.String("file", f.path), zap.Error(err))
		}
	}
}

// release drops the pages of f's memory map from the process's memory.
func (e *fileStorage) release(f *trackedFile) error {
	a := &f.access
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	return dropMappedPages(f.path)
}
