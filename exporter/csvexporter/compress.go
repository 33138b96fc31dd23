package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// compressChunk is how much of a file is compressed between two checks that
// the compression should go on.
const compressChunk = 1 << 20

// compression is the state of a writer's compression of finished files,
// guarded by the writer's mu. The files are gzipped one at a time by one
// goroutine that runs while some wait, so that a write that closes a file
// never waits for its compression (seconds for a 100 MiB file) and neither
// do the writes of other files.
type compression struct {
	// queue is the files waiting, in the order they were closed.
	queue []string
	// busy holds the queued files and the one being compressed: they are
	// neither continued by a write nor removed by retention.
	busy map[string]bool
	// done is closed when the running goroutine ends; nil when none runs.
	done chan struct{}
	// cancel stops the running compression, leaving the plain file.
	cancel context.CancelFunc
	// stopping refuses new files: the writer shuts down. Start clears it.
	stopping bool
	// before, when set, runs before each file is compressed, with the
	// context that shutdown cancels (tests).
	before func(ctx context.Context, path string)
}

// enqueueCompression hands a finished file to the compression goroutine,
// starting it if none runs. Called with mu held.
func (w *fileWriter) enqueueCompression(path string) {
	c := &w.gz
	if c.stopping || c.busy[path] {
		return
	}
	if c.busy == nil {
		c.busy = map[string]bool{}
	}
	c.busy[path] = true
	c.queue = append(c.queue, path)
	if c.done == nil {
		var ctx context.Context
		ctx, c.cancel = context.WithCancel(context.Background())
		c.done = make(chan struct{})
		go w.compressQueued(ctx, c.done)
	}
}

// compressQueued compresses the queued files until none is left. The writer's
// lock is held only to take a file from the queue and to put its .gz in place.
func (w *fileWriter) compressQueued(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		w.mu.Lock()
		c := &w.gz
		if len(c.queue) == 0 || c.stopping {
			c.done, c.cancel = nil, nil
			w.mu.Unlock()
			return
		}
		path := c.queue[0]
		c.queue = c.queue[1:]
		before := c.before
		w.mu.Unlock()

		if before != nil {
			before(ctx, path)
		}
		tmp, modTime, err := gzipToTemp(ctx, path, w.spec.filePerm, w.spec.fsync != FsyncNever)

		w.mu.Lock()
		if err == nil {
			err = replaceByGzip(path, tmp, modTime, w.spec.fsync != FsyncNever)
		}
		delete(c.busy, path)
		switch {
		case err == nil:
			w.hooks.fileClosed(true)
		case ctx.Err() != nil:
			// Stopped at shutdown: the next start compresses the plain file.
			w.logger.Info("Compression stopped at shutdown; the file stays uncompressed until the next start", zap.String("path", path))
		default:
			w.logger.Warn("Could not compress a closed file; it stays uncompressed", zap.String("path", path), zap.Error(err))
			w.hooks.fileClosed(false)
		}
		w.retain(w.now(), "")
		w.mu.Unlock()
	}
}

// stopCompression waits for the running compression until ctx is done, then
// stops it; files still queued stay uncompressed until the next start.
func (w *fileWriter) stopCompression(ctx context.Context) {
	w.mu.Lock()
	c := &w.gz
	c.stopping = true
	done, cancel := c.done, c.cancel
	w.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			cancel()
			<-done
		}
	}
	w.mu.Lock()
	c.queue, c.busy = nil, nil
	w.mu.Unlock()
}

// compressing reports whether a file is queued or being compressed.
func (w *fileWriter) compressing(path string) bool {
	return w.gz.busy[path]
}

// gzipToTemp writes path's gzip stream to a temporary name that no template
// matches (path.gz.tmp), so that a crash or a stop leaves the original and at
// most an incomplete temporary file, which the next compression overwrites.
func gzipToTemp(ctx context.Context, path string, perm os.FileMode, sync bool) (tmp string, modTime time.Time, err error) {
	src, err := os.Open(path) //nolint:gosec // paths come from the configured template
	if err != nil {
		return "", time.Time{}, err
	}
	defer func() { _ = src.Close() }()
	info, err := src.Stat()
	if err != nil {
		return "", time.Time{}, err
	}
	tmp = path + gzipSuffix + ".tmp"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm) //nolint:gosec // paths come from the configured template
	if err != nil {
		return "", time.Time{}, err
	}
	zw := gzip.NewWriter(dst)
	zw.Name = filepath.Base(path)
	zw.ModTime = info.ModTime()
	for err == nil {
		if err = ctx.Err(); err != nil {
			break
		}
		_, err = io.CopyN(zw, src, compressChunk)
		if errors.Is(err, io.EOF) {
			err = zw.Close()
			break
		}
	}
	if sync && err == nil {
		err = dst.Sync()
	}
	if err = errors.Join(err, dst.Close()); err != nil {
		_ = os.Remove(tmp)
		return "", time.Time{}, err
	}
	return tmp, info.ModTime(), nil
}

// replaceByGzip puts the complete gzip stream in place of the original: the
// .gz exists (and with sync is on disk) before the original is removed, so a
// crash leaves the original, the complete .gz, or at worst both.
func replaceByGzip(path, tmp string, modTime time.Time, sync bool) error {
	gz := path + gzipSuffix
	if err := os.Rename(tmp, gz); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	// Retention by age looks at modification times: keep the original's.
	_ = os.Chtimes(gz, modTime, modTime)
	if sync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	return os.Remove(path)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // the configured template's directory
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
