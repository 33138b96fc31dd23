package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

// Files are managed here rather than with lumberjack (which contrib's file
// exporter uses) because lumberjack rotates one fixed file name into
// timestamped backups: it has no path template by period, no header row per
// new file, no choice of period by event time, no repair of a torn last row,
// and its clock is a package variable that tests cannot inject per writer.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

const (
	// flushThreshold writes a file's buffer before the flush interval when it grows past this size.
	flushThreshold = 256 << 10
	// maxOpenFiles bounds the files kept open at once: rows placed by event
	// time can belong to several periods, at most those of the event-time
	// window (about 10 with daily files and the default window) and the
	// out_of_range file. Beyond it the least recently used file is closed.
	maxOpenFiles = 16
)

// writerSpec is everything that decides what a file contains and how it is
// handled; outputs that name the same path template must agree on it.
type writerSpec struct {
	template   string
	header     string
	csvQuotes  bool
	timeSource string
	localTime  bool
	maxBytes   int64
	compress   bool
	maxFiles   int
	maxAge     time.Duration
	// window bounds the periods that rows placed by event time may open.
	window        eventWindow
	fsync         string
	flushInterval time.Duration
	dirPerm       os.FileMode
	filePerm      os.FileMode
}

// writerHooks report what the writer does to the exporter's telemetry.
type writerHooks struct {
	fileClosed   func(compressed bool)
	filesRemoved func(n int)
	writeError   func()
	// outOfRange counts rows placed in the out_of_range file.
	outOfRange func(n int)
}

// rowBatch is encoded rows: data[ends[i-1]:ends[i]] is row i, placed in the
// period of times[i] when the time source is the event's.
type rowBatch struct {
	data  []byte
	ends  []int
	times []time.Time
}

func (b *rowBatch) reset() {
	b.data, b.ends, b.times = b.data[:0], b.ends[:0], b.times[:0]
}

// row is the encoded row i.
func (b *rowBatch) row(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]]
}

// fileWriter writes rows to the files of one path template. All outputs and
// signals writing the same template share one fileWriter (shared.go).
type fileWriter struct {
	spec writerSpec
	tmpl pathTemplate
	// loc is the time zone of the periods: UTC, or local with local_time.
	loc    *time.Location
	now    func() time.Time
	logger *zap.Logger
	hooks  writerHooks

	mu    sync.Mutex
	files map[string]*openFile // by resolved stem
	// current is the stem of the latest row written.
	current string
	// pending is a flush that failed; new rows are refused until the
	// buffered ones are written.
	pending error
	swept   bool
	uses    uint64
	// placed is reused by every batch.
	placed placement
	// gz compresses finished files in the background.
	gz compression

	// The periodic flush, between Start and Shutdown.
	stop chan struct{}
	done chan struct{}
}

func newFileWriter(spec writerSpec, now func() time.Time, logger *zap.Logger, hooks writerHooks) *fileWriter {
	loc := time.UTC
	if spec.localTime {
		loc = time.Local
	}
	return &fileWriter{
		spec:   spec,
		tmpl:   parseTemplate(spec.template),
		loc:    loc,
		now:    now,
		logger: logger,
		hooks:  hooks,
		files:  map[string]*openFile{},
	}
}

func (w *fileWriter) stemAt(t time.Time) string {
	return w.tmpl.resolve(t.In(w.loc))
}

// write appends the batch's rows to their files. With writeThrough the rows
// are in the files when it returns; otherwise they may wait in memory until
// the next tick. On error no row of the batch stays buffered (rows already
// handed to a file before the failure may be written again on retry).
func (w *fileWriter) write(b *rowBatch, writeThrough bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending != nil {
		if err := w.flushAllLocked(); err != nil {
			return err
		}
	}
	now := w.now()
	type mark struct {
		of      *openFile
		length  int
		hasRows bool
	}
	var marks []mark
	markOf := func(of *openFile) *mark {
		for i := range marks {
			if marks[i].of == of {
				return &marks[i]
			}
		}
		marks = append(marks, mark{of: of, length: len(of.buf), hasRows: of.hasRows})
		return &marks[len(marks)-1]
	}
	fail := func(err error) error {
		for _, m := range marks {
			if len(m.of.buf) >= m.length {
				m.of.buf = m.of.buf[:m.length]
				m.of.hasRows = m.hasRows || m.of.size > int64(len(w.spec.header))
			}
		}
		for _, of := range w.files {
			if len(of.buf) > 0 {
				w.pending = err
			}
		}
		w.hooks.writeError()
		return err
	}
	p := &w.placed
	w.place(b, now, p)
	for _, g := range p.groups {
		of, err := w.fileFor(g.stem, g.periodEnd, now)
		if err != nil {
			return fail(describe(w.tmpl.path(g.stem, 0), err))
		}
		for _, i := range g.rows {
			row := b.row(i)
			if w.spec.maxBytes > 0 && of.hasRows && of.size+int64(len(of.buf)+len(row)) > w.spec.maxBytes {
				next, err := w.rotate(of, now)
				if err != nil {
					return fail(err)
				}
				of = next
			}
			m := markOf(of)
			of.buf = append(of.buf, row...)
			of.hasRows, of.touched = true, true
			if len(of.buf) >= flushThreshold {
				if err := w.flush(of); err != nil {
					return fail(err)
				}
				// Written rows cannot be taken back.
				m.length, m.hasRows = 0, true
			}
		}
		w.current = g.stem
	}
	if writeThrough {
		for _, m := range marks {
			if err := w.flush(m.of); err != nil {
				return fail(err)
			}
		}
	}
	if p.outOfRange > 0 {
		w.hooks.outOfRange(p.outOfRange)
	}
	return nil
}

// flush hands a file's buffer to the operating system. A failed write is
// cut back to the file's last complete row, so the file never ends in half
// a row while the collector runs.
func (w *fileWriter) flush(of *openFile) error {
	if of.cut {
		if err := of.f.Truncate(of.size); err != nil {
			return describe(of.path, err)
		}
		of.cut = false
	}
	if len(of.buf) == 0 {
		return nil
	}
	n, err := of.f.Write(of.buf)
	if err != nil {
		if n > 0 {
			if terr := of.f.Truncate(of.size); terr != nil {
				of.cut = true
			}
		}
		return describe(of.path, err)
	}
	of.size += int64(n)
	of.buf = of.buf[:0]
	if w.spec.fsync == FsyncOnFlush {
		if err := of.f.Sync(); err != nil {
			return describe(of.path, err)
		}
	}
	return nil
}

func (w *fileWriter) flushAllLocked() error {
	var errs []error
	for _, of := range w.files {
		if err := w.flush(of); err != nil {
			errs = append(errs, err)
		}
	}
	w.pending = errors.Join(errs...)
	if w.pending != nil {
		w.hooks.writeError()
	}
	return w.pending
}

// closeFile writes what is buffered and closes the file. finished files
// (period over, size reached) count for retention and, with compression, are
// handed to the compression goroutine: the caller does not wait for it.
// Files closed at shutdown are continued on the next start.
func (w *fileWriter) closeFile(of *openFile, finished bool, now time.Time) error {
	if err := w.flush(of); err != nil {
		return err
	}
	var errs []error
	if w.spec.fsync != FsyncNever {
		errs = append(errs, of.f.Sync())
	}
	errs = append(errs, of.f.Close())
	delete(w.files, of.stem)
	if err := errors.Join(errs...); err != nil {
		return describe(of.path, err)
	}
	if !finished {
		return nil
	}
	if w.spec.compress {
		// Counted in fileClosed when its compression ends.
		w.enqueueCompression(of.path)
	} else {
		w.hooks.fileClosed(false)
	}
	w.retain(now, "")
	return nil
}

// tick flushes every buffer and closes the files whose period is over and
// that received nothing since the previous tick (except the file of the
// latest row: a steady stream of late rows keeps its file).
func (w *fileWriter) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if err := w.flushAllLocked(); err != nil {
		w.logger.Warn("Could not write buffered rows; retrying at the next flush", zap.Error(err))
	}
	current := w.current
	if w.spec.timeSource == TimeSourceWallClock {
		current = w.stemAt(now)
	}
	for stem, of := range w.files {
		over := !of.periodEnd.IsZero() && !now.Before(of.periodEnd)
		if stem == current || of.touched || len(of.buf) > 0 || !over {
			of.touched = false
			continue
		}
		if err := w.closeFile(of, true, now); err != nil {
			w.logger.Warn("Could not close a finished file", zap.String("path", of.path), zap.Error(err))
		}
	}
}

// closeAll writes everything and closes the files without finishing them.
func (w *fileWriter) closeAll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, of := range w.files {
		if err := w.closeFile(of, false, w.now()); err != nil {
			errs = append(errs, err)
			_ = of.f.Close()
			delete(w.files, of.stem)
		}
	}
	return errors.Join(errs...)
}

// describe names the file and, for the usual causes, what to do.
func describe(path string, err error) error {
	hint := ""
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		hint = "the disk is full"
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
		hint = "the directory or file is not writable"
	}
	if hint != "" {
		return fmt.Errorf("cannot write %s (%s; the rows are kept for retry): %w", path, hint, err)
	}
	return fmt.Errorf("cannot write %s (the rows are kept for retry): %w", path, err)
}
