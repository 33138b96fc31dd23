package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"
)

// sweep handles files an earlier run left behind: all but the newest file
// of the period about to be written are finished. Retention runs first, so
// that no file about to be removed is compressed; the others are compressed
// in the background, so a large backlog does not hold the first write.
func (w *fileWriter) sweep(stem string, now time.Time) {
	keep := w.latestOf(stem)
	w.retain(now, keep)
	if !w.spec.compress {
		return
	}
	files, err := w.tmpl.listFiles(w.openPaths(keep), w.loc)
	if err != nil {
		w.logger.Warn("Could not list old files", zap.String("dir", w.tmpl.dir), zap.Error(err))
	}
	for _, f := range files {
		if filepath.Ext(f.path) != gzipSuffix {
			w.enqueueCompression(f.path)
		}
	}
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
// older than the age limit. A file waiting for or under compression counts
// but is not removed: retention runs again when its compression ends. A
// file's age counts from the earlier of its last modification and the end
// of the period in its name: a file of a long-gone period is old however
// recently it was written.
func (w *fileWriter) retain(now time.Time, keep string) {
	if w.spec.maxFiles == 0 && w.spec.maxAge == 0 {
		return
	}
	files, err := w.tmpl.listFiles(w.openPaths(keep), w.loc)
	if err != nil {
		w.logger.Warn("Could not list closed files for retention", zap.String("dir", w.tmpl.dir), zap.Error(err))
		return
	}
	sort.Slice(files, func(i, j int) bool {
		if ti, tj := files[i].aged(), files[j].aged(); !ti.Equal(tj) {
			return ti.Before(tj)
		}
		// Written within the file system's time granularity: a period's
		// files in the order they were written.
		if files[i].series != files[j].series {
			return files[i].series < files[j].series
		}
		return files[i].seq < files[j].seq
	})
	removed := 0
	for i, f := range files {
		tooMany := w.spec.maxFiles > 0 && len(files)-i > w.spec.maxFiles
		tooOld := w.spec.maxAge > 0 && now.Sub(f.aged()) > w.spec.maxAge
		if !tooMany && !tooOld {
			continue
		}
		if w.compressing(f.path) {
			// Counted, and removed once compressed if it is still too old or too many.
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

// aged is the time a file's age counts from: its last modification, or the
// end of the period in its name when that is earlier.
func (f closedFile) aged() time.Time {
	if !f.periodEnd.IsZero() && f.periodEnd.Before(f.modTime) {
		return f.periodEnd
	}
	return f.modTime
}
