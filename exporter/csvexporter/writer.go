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
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

const (
	// flushThreshold writes a file's buffer before the flush interval when it grows past this size.
	flushThreshold = 256 << 10
	// maxOpenFiles bounds the files kept open at once (rows placed by event
	// time can belong to several periods).
	maxOpenFiles = 8
)

// writerSpec is everything that decides what a file contains and how it is
// handled; outputs that name the same path template must agree on it.
type writerSpec struct {
	template      string
	header        string
	csvQuotes     bool
	timeSource    string
	localTime     bool
	maxBytes      int64
	compress      bool
	maxFiles      int
	maxAge        time.Duration
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

// fileWriter writes rows to the files of one path template. All outputs and
// signals writing the same template share one fileWriter.
type fileWriter struct {
	spec   writerSpec
	tmpl   pathTemplate
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

	// Owned by the registry.
	refs int
	stop chan struct{}
	done chan struct{}
}

type openFile struct {
	stem    string
	seq     int
	path    string
	f       *os.File
	size    int64 // bytes in the file
	buf     []byte
	hasRows bool
	// touched is set by writes and cleared by each tick; an untouched file
	// of a past period is closed.
	touched bool
	lastUse uint64
	// cut is set when a failed write could not be undone yet.
	cut bool
}

func newFileWriter(spec writerSpec, now func() time.Time, logger *zap.Logger, hooks writerHooks) *fileWriter {
	return &fileWriter{
		spec:   spec,
		tmpl:   parseTemplate(spec.template),
		now:    now,
		logger: logger,
		hooks:  hooks,
		files:  map[string]*openFile{},
	}
}

func (w *fileWriter) stemAt(t time.Time) string {
	if w.spec.localTime {
		return w.tmpl.resolve(t.Local())
	}
	return w.tmpl.resolve(t.UTC())
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
	start := 0
	for i, end := range b.ends {
		row := b.data[start:end]
		start = end
		at := now
		if w.spec.timeSource == TimeSourceEvent && !b.times[i].IsZero() {
			at = b.times[i]
		}
		stem := w.stemAt(at)
		of, err := w.fileFor(stem, now)
		if err != nil {
			return fail(describe(w.tmpl.path(stem, 0), err))
		}
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
		w.current = stem
		if len(of.buf) >= flushThreshold {
			if err := w.flush(of); err != nil {
				return fail(err)
			}
			// Written rows cannot be taken back.
			m.length, m.hasRows = 0, true
		}
	}
	if writeThrough {
		for _, m := range marks {
			if err := w.flush(m.of); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// fileFor returns the open file of a period, opening (and if needed
// creating) it.
func (w *fileWriter) fileFor(stem string, now time.Time) (*openFile, error) {
	w.uses++
	if of := w.files[stem]; of != nil {
		of.lastUse = w.uses
		return of, nil
	}
	if !w.swept {
		// Files left by an earlier run: compress the finished ones and apply retention.
		w.swept = true
		w.sweep(stem, now)
	}
	if err := os.MkdirAll(w.tmpl.dir, w.spec.dirPerm); err != nil {
		return nil, err
	}
	seq, compressed, found, err := w.tmpl.lastFile(stem)
	if err != nil {
		return nil, err
	}
	var of *openFile
	if found && !compressed {
		if of, err = w.reopen(stem, seq); err != nil {
			return nil, err
		}
	}
	if of == nil {
		if found {
			seq++
		}
		if of, err = w.create(stem, seq); err != nil {
			return nil, err
		}
	}
	of.lastUse = w.uses
	w.files[stem] = of
	w.evict(now)
	return of, nil
}

// reopen continues an existing file, repairing a torn last row. It returns
// nil when the file cannot be continued (other header, full).
func (w *fileWriter) reopen(stem string, seq int) (*openFile, error) {
	path := w.tmpl.path(stem, seq)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0) //nolint:gosec // paths come from the configured template
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	size := info.Size()
	of := &openFile{stem: stem, seq: seq, path: path, f: f, size: size}
	if size == 0 {
		of.buf = append(of.buf, w.spec.header...)
		return of, nil
	}
	if w.spec.header != "" {
		same, err := hasHeader(f, size, []byte(w.spec.header))
		if err != nil || !same {
			_ = f.Close()
			if !same && err == nil {
				w.logger.Info("Starting a new file: the existing one has other columns", zap.String("path", path))
			}
			return nil, err
		}
	}
	moved, err := repairTail(f, path, size, w.spec.csvQuotes, w.spec.filePerm)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("repairing the last row of %s: %w", path, err)
	}
	if moved > 0 {
		size -= moved
		w.logger.Warn("Moved a partially written last row aside",
			zap.String("path", path), zap.String("moved_to", path+".torn"), zap.Int64("bytes", moved))
	}
	if w.spec.maxBytes > 0 && size >= w.spec.maxBytes {
		_ = f.Close()
		return nil, nil
	}
	of.size = size
	of.hasRows = size > int64(len(w.spec.header))
	return of, nil
}

func (w *fileWriter) create(stem string, seq int) (*openFile, error) {
	for {
		path := w.tmpl.path(stem, seq)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, w.spec.filePerm) //nolint:gosec // paths come from the configured template
		if errors.Is(err, os.ErrExist) {
			seq++
			continue
		}
		if err != nil {
			return nil, err
		}
		return &openFile{stem: stem, seq: seq, path: path, f: f, buf: append([]byte(nil), w.spec.header...)}, nil
	}
}

// evict closes the least recently used files beyond maxOpenFiles.
func (w *fileWriter) evict(now time.Time) {
	for len(w.files) > maxOpenFiles {
		var oldest *openFile
		for _, of := range w.files {
			if oldest == nil || of.lastUse < oldest.lastUse {
				oldest = of
			}
		}
		if err := w.closeFile(oldest, true, now); err != nil {
			w.logger.Warn("Could not close a file", zap.String("path", oldest.path), zap.Error(err))
			return
		}
	}
}

// rotate closes a full file and opens the period's next one.
func (w *fileWriter) rotate(of *openFile, now time.Time) (*openFile, error) {
	if err := w.closeFile(of, true, now); err != nil {
		return nil, err
	}
	next, err := w.create(of.stem, of.seq+1)
	if err != nil {
		return nil, describe(w.tmpl.path(of.stem, of.seq+1), err)
	}
	w.uses++
	next.lastUse = w.uses
	w.files[of.stem] = next
	return next, nil
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
// (period over, size reached) are compressed and count for retention; files
// closed at shutdown are continued on the next start.
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
	compressed := false
	if w.spec.compress {
		if err := compressFile(of.path, w.spec.filePerm, w.spec.fsync != FsyncNever); err != nil {
			w.logger.Warn("Could not compress a closed file; it stays uncompressed", zap.String("path", of.path), zap.Error(err))
		} else {
			compressed = true
		}
	}
	w.hooks.fileClosed(compressed)
	w.retain(now, "")
	return nil
}

// sweep handles files an earlier run left behind: all but the newest file
// of the period about to be written are finished.
func (w *fileWriter) sweep(stem string, now time.Time) {
	keep := w.latestOf(stem)
	if w.spec.compress {
		files, err := w.tmpl.listFiles(w.openPaths(keep))
		if err != nil {
			w.logger.Warn("Could not list old files", zap.String("dir", w.tmpl.dir), zap.Error(err))
		}
		for _, f := range files {
			if filepath.Ext(f.path) == gzipSuffix {
				continue
			}
			if err := compressFile(f.path, w.spec.filePerm, w.spec.fsync != FsyncNever); err != nil {
				w.logger.Warn("Could not compress an old file", zap.String("path", f.path), zap.Error(err))
				continue
			}
			w.hooks.fileClosed(true)
		}
	}
	w.retain(now, keep)
}

// latestOf is the path of a period's newest uncompressed file, if any.
func (w *fileWriter) latestOf(stem string) string {
	seq, compressed, found, err := w.tmpl.lastFile(stem)
	if err != nil || !found || compressed {
		return ""
	}
	return w.tmpl.path(stem, seq)
}

func (w *fileWriter) openPaths(extra string) map[string]bool {
	paths := map[string]bool{}
	for _, of := range w.files {
		paths[of.path] = true
	}
	if extra != "" {
		paths[extra] = true
	}
	return paths
}

// retain removes closed files beyond the count limit (oldest first) and
// older than the age limit.
func (w *fileWriter) retain(now time.Time, keep string) {
	if w.spec.maxFiles == 0 && w.spec.maxAge == 0 {
		return
	}
	files, err := w.tmpl.listFiles(w.openPaths(keep))
	if err != nil {
		w.logger.Warn("Could not list closed files for retention", zap.String("dir", w.tmpl.dir), zap.Error(err))
		return
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].modTime.Equal(files[j].modTime) {
			return files[i].modTime.Before(files[j].modTime)
		}
		return files[i].path < files[j].path
	})
	removed := 0
	for i, f := range files {
		tooMany := w.spec.maxFiles > 0 && len(files)-i > w.spec.maxFiles
		tooOld := w.spec.maxAge > 0 && now.Sub(f.modTime) > w.spec.maxAge
		if !tooMany && !tooOld {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.logger.Warn("Could not remove an old file", zap.String("path", f.path), zap.Error(err))
			continue
		}
		removed++
	}
	if removed > 0 {
		w.hooks.filesRemoved(removed)
	}
}

// tick flushes every buffer and closes the files of past periods that
// received nothing since the previous tick.
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
		if stem == current || of.touched || len(of.buf) > 0 {
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

// The registry shares one fileWriter per path template across exporters
// and signals.
var registry = struct {
	sync.Mutex
	writers map[string]*fileWriter
}{writers: map[string]*fileWriter{}}

func acquireWriter(spec writerSpec, now func() time.Time, logger *zap.Logger, hooks writerHooks) (*fileWriter, error) {
	key, err := filepath.Abs(spec.template)
	if err != nil {
		return nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	if w := registry.writers[key]; w != nil {
		if w.spec != spec {
			return nil, fmt.Errorf("%s is already written by another csv exporter output with different settings (columns, format, rotation); give each output its own path", spec.template)
		}
		w.refs++
		return w, nil
	}
	w := newFileWriter(spec, now, logger, hooks)
	w.refs = 1
	interval := spec.flushInterval
	if interval <= 0 {
		// Write-through still needs ticks to close the files of past periods.
		interval = time.Second
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.run(interval)
	registry.writers[key] = w
	return w, nil
}

func (w *fileWriter) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.tick()
		case <-w.stop:
			return
		}
	}
}

// release drops one user; the last one stops the writer and closes its files.
func (w *fileWriter) release() error {
	registry.Lock()
	w.refs--
	last := w.refs == 0
	if last {
		for key, other := range registry.writers {
			if other == w {
				delete(registry.writers, key)
			}
		}
	}
	registry.Unlock()
	if !last {
		return nil
	}
	close(w.stop)
	<-w.done
	return w.closeAll()
}
