package csvexporter

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkWriteDuringRotation: the longest write of one row, written
// through as the shipped configuration writes them, while a 100 MiB file
// rotates with gzip. background is the writer as it is; compress_in_write is
// the peer: the file compressed inside the write that rotates it, holding the
// writer's lock, as before. An op fills one file, rotates it, and goes on
// writing until that file's compression has ended (at least 10,000 rows).
func BenchmarkWriteDuringRotation(b *testing.B) {
	rows := rotationRows(4096)
	for _, mode := range []string{"compress_in_write", "background"} {
		b.Run(mode, func(b *testing.B) {
			var worst, rotating, afterWorst time.Duration
			after := 0
			for i := 0; i < b.N; i++ {
				r := rotateOnce(b, rows, mode == "background")
				worst, rotating, afterWorst = max(worst, r.worst), max(rotating, r.rotating), max(afterWorst, r.afterWorst)
				after += r.after
			}
			b.ReportMetric(float64(worst)/1e6, "max-write-ms")
			b.ReportMetric(float64(rotating)/1e6, "rotating-write-ms")
			b.ReportMetric(float64(afterWorst)/1e6, "max-write-after-rotation-ms")
			b.ReportMetric(float64(after)/float64(b.N), "writes-after-rotation")
			b.ReportMetric(0, "ns/op")
		})
	}
}

type rotationRun struct {
	worst, rotating, afterWorst time.Duration
	after                       int
}

func rotateOnce(b *testing.B, rows [][]byte, background bool) rotationRun {
	b.Helper()
	dir := b.TempDir()
	spec := testSpec(dir, "ev.csv")
	spec.maxBytes = 100 << 20
	spec.compress = background
	var compressed atomic.Bool
	hooks := writerHooks{fileClosed: func(bool) { compressed.Store(true) }, filesRemoved: func(int) {}, writeError: func() {}, outOfRange: func(int) {}}
	if !background {
		// Called in closeFile, under the writer's lock, before the next file exists.
		hooks.fileClosed = func(bool) {
			compressPlainFiles(b, dir)
			compressed.Store(true)
		}
	}
	w := newFileWriter(spec, (&fakeClock{t: day1}).Now, zap.NewNop(), hooks)
	defer func() {
		w.stopCompression(context.Background())
		if err := w.closeAll(); err != nil {
			b.Fatal(err)
		}
	}()
	batch := &rowBatch{ends: []int{0}, times: []time.Time{{}}}
	var r rotationRun
	rotated := false
	for n := 0; ; n++ {
		row := rows[n%len(rows)]
		batch.data, batch.ends[0] = row, len(row)
		start := time.Now()
		if err := w.write(batch, true); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		r.worst = max(r.worst, took)
		w.mu.Lock()
		seq := w.files["ev"].seq
		w.mu.Unlock()
		switch {
		case !rotated && seq > 0:
			rotated, r.rotating = true, took
		case rotated:
			r.after++
			r.afterWorst = max(r.afterWorst, took)
			if r.after >= 10000 && compressed.Load() {
				return r
			}
		}
	}
}

// compressPlainFiles gzips the directory's uncompressed files.
func compressPlainFiles(b *testing.B, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".csv") {
			path := filepath.Join(dir, e.Name())
			tmp, modTime, err := gzipToTemp(context.Background(), path, 0o640, true)
			if err == nil {
				err = replaceByGzip(path, tmp, modTime, true)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// rotationRows are distinct event rows of about 140 bytes: times, ids and
// figures that vary as real ones do, so that gzip works as hard as on them.
func rotationRows(n int) [][]byte {
	rng := rand.New(rand.NewSource(1)) //nolint:gosec // test data
	kinds := []string{"started", "progress", "finished", "failed"}
	rows := make([][]byte, n)
	for i := range rows {
		rows[i] = fmt.Appendf(nil, "2025-10-19T12:%02d:%02d.%06dZ,%08x-%04x-%04x-%04x-%012x,job-%d,subjob-%d,%s,host-%03d,%d.%03d,%d,%q\r\n",
			i/60%60, i%60, rng.Intn(1e6), rng.Uint32(), rng.Intn(1<<16), rng.Intn(1<<16), rng.Intn(1<<16), rng.Int63n(1<<48),
			rng.Intn(10000), rng.Intn(100), kinds[rng.Intn(len(kinds))], rng.Intn(200), rng.Intn(1000), rng.Intn(1000),
			rng.Intn(1<<20), fmt.Sprintf("wafer lot %d step %d", rng.Intn(500), rng.Intn(40)))
	}
	return rows
}
