package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
)

// openFile is one file being written: a period's current file.
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
	// periodEnd is when the period of the file is over (zero: never).
	periodEnd time.Time
	lastUse   uint64
	// cut is set when a failed write could not be undone yet.
	cut bool
}

// fileFor returns the open file of a period, opening (and if needed
// creating) it.
func (w *fileWriter) fileFor(stem string, periodEnd, now time.Time) (*openFile, error) {
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
	// A file waiting for its compression is finished: the period goes on in the next one.
	if found && !compressed && !w.compressing(w.tmpl.path(stem, seq)) {
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
	of.periodEnd = periodEnd
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
	next.periodEnd = of.periodEnd
	w.files[of.stem] = next
	return next, nil
}
