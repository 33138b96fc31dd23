package csvexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gate holds the writer's compressions until released.
type gate struct {
	entered chan string
	release chan struct{}
}

// hold makes every compression of w wait at the gate: entered receives the
// path of each file whose compression starts; it goes on when release is
// closed, or ends (as a stop would) when the writer's shutdown cancels it.
func hold(w *fileWriter) *gate {
	g := &gate{entered: make(chan string, 16), release: make(chan struct{})}
	w.mu.Lock()
	w.gz.before = func(ctx context.Context, path string) {
		g.entered <- path
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	w.mu.Unlock()
	return g
}

// equalRows is a batch of n rows "0,n0" of the same length, at the zero time.
func equalRows(n int) *rowBatch {
	const row = "0,n0\r\n"
	b := &rowBatch{data: []byte(strings.Repeat(row, n))}
	for i := 0; i < n; i++ {
		b.ends = append(b.ends, (i+1)*len(row))
		b.times = append(b.times, time.Time{})
	}
	return b
}

// rotatingSpec rotates after 3 rows of equalRows.
func rotatingSpec(dir string) writerSpec {
	spec := testSpec(dir, "ev.csv")
	spec.maxBytes = int64(len(testHeader) + 3*len("0,n0\r\n"))
	spec.compress = true
	return spec
}

// TestWritesFlowWhileCompressing: the write that rotates a file does not
// wait for its compression, nor do the writes after it, into the same
// template and through further rotations.
func TestWritesFlowWhileCompressing(t *testing.T) {
	dir := t.TempDir()
	w, c := newTestWriter(t, rotatingSpec(dir), &fakeClock{t: day1})
	g := hold(w)
	require.NoError(t, w.write(equalRows(4), true)) // rotates ev.csv
	assert.Equal(t, filepath.Join(dir, "ev.csv"), <-g.entered)
	// ev.csv's compression is held: 8 more rows and two more rotations get written.
	for i := 0; i < 8; i++ {
		require.NoError(t, w.write(equalRows(1), true))
	}
	assert.Equal(t, []string{"ev-1.csv", "ev-2.csv", "ev-3.csv", "ev.csv"}, listDir(t, dir))
	assert.Equal(t, 0, c.compressed)

	close(g.release)
	settle(w)
	full := testHeader + strings.Repeat("0,n0\r\n", 3)
	assert.Equal(t, []string{"ev-1.csv.gz", "ev-2.csv.gz", "ev-3.csv", "ev.csv.gz"}, listDir(t, dir))
	for _, name := range []string{"ev.csv.gz", "ev-1.csv.gz", "ev-2.csv.gz"} {
		assert.Equal(t, full, readGzip(t, filepath.Join(dir, name)), name)
	}
	assert.Equal(t, testHeader+strings.Repeat("0,n0\r\n", 3), readFile(t, filepath.Join(dir, "ev-3.csv")))
	assert.Equal(t, 3, c.compressed)
	assert.Equal(t, 3, c.closed)
}

// TestLateRowWhileCompressing: a row for a period whose file waits for its
// compression starts the period's next file; the waiting file is not
// continued (its rows would be lost when the original is removed).
func TestLateRowWhileCompressing(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: day1}
	spec := windowSpec(dir)
	spec.compress = true
	w, _ := newTestWriter(t, spec, clock)
	g := hold(w)
	require.NoError(t, w.write(batchOf(nil, day1.Add(-24*time.Hour)), true))
	require.NoError(t, w.write(batchOf(nil, day1), true))
	w.tick()
	w.tick() // the 18th is over and idle: closed, its compression held
	assert.Equal(t, filepath.Join(dir, "ev_20251018.csv"), <-g.entered)

	require.NoError(t, w.write(batchOf([]string{"late"}, day1.Add(-24*time.Hour)), true))
	assert.Equal(t, []string{"ev_20251018-1.csv", "ev_20251018.csv", "ev_20251019.csv"}, listDir(t, dir))
	close(g.release)
	settle(w)
	assert.Equal(t, testHeader+"0,n0\r\n", readGzip(t, filepath.Join(dir, "ev_20251018.csv.gz")))
	assert.Equal(t, testHeader+"0,late\r\n", readFile(t, filepath.Join(dir, "ev_20251018-1.csv")))
}

// TestRetentionWhileCompressing: files waiting for their compression count
// for max_files but are not removed; once compressed, retention removes the
// oldest beyond the limit, .gz or plain, and never one being compressed.
func TestRetentionWhileCompressing(t *testing.T) {
	dir := t.TempDir()
	spec := rotatingSpec(dir)
	spec.maxFiles = 1
	w, c := newTestWriter(t, spec, &fakeClock{t: day1})
	g := hold(w)
	require.NoError(t, w.write(equalRows(4), true))
	first := <-g.entered
	for i := 0; i < 8; i++ {
		require.NoError(t, w.write(equalRows(1), true))
	}
	// ev.csv is being compressed and ev-1.csv, ev-2.csv wait: all kept.
	assert.Equal(t, []string{"ev-1.csv", "ev-2.csv", "ev-3.csv", "ev.csv"}, listDir(t, dir))
	assert.Equal(t, 0, c.removed)
	// Files are compressed in the order they were closed, one at a time.
	assert.Equal(t, filepath.Join(dir, "ev.csv"), first)
	// Modification times a second apart, as files of 100 MiB have: within
	// the file system's granularity, retention orders by name.
	for i, name := range []string{"ev.csv", "ev-1.csv", "ev-2.csv"} {
		at := day1.Add(time.Duration(i-3) * time.Second)
		require.NoError(t, os.Chtimes(filepath.Join(dir, name), at, at))
	}

	close(g.release)
	settle(w)
	assert.Equal(t, []string{"ev-2.csv.gz", "ev-3.csv"}, listDir(t, dir))
	assert.Equal(t, 2, c.removed)
	assert.Equal(t, testHeader+strings.Repeat("0,n0\r\n", 3), readGzip(t, filepath.Join(dir, "ev-2.csv.gz")))
}

// TestShutdownWaitsForCompression: a shutdown whose context allows it lets
// the running compression finish; files still queued stay plain and the
// next start compresses them.
func TestShutdownWaitsForCompression(t *testing.T) {
	dir := t.TempDir()
	spec := rotatingSpec(dir)
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	g := hold(w)
	require.NoError(t, w.write(equalRows(7), true)) // ev.csv and ev-1.csv finished
	<-g.entered
	shut := make(chan error, 1)
	go func() { shut <- w.Shutdown(context.Background()) }()
	close(g.release)
	require.NoError(t, <-shut)
	assert.Equal(t, []string{"ev-1.csv", "ev-2.csv", "ev.csv.gz"}, listDir(t, dir))

	next, c := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, next.write(equalRows(1), true))
	settle(next)
	assert.Equal(t, []string{"ev-1.csv.gz", "ev-2.csv", "ev.csv.gz"}, listDir(t, dir))
	assert.Equal(t, testHeader+strings.Repeat("0,n0\r\n", 3), readGzip(t, filepath.Join(dir, "ev-1.csv.gz")))
	assert.Equal(t, testHeader+strings.Repeat("0,n0\r\n", 2), readFile(t, filepath.Join(dir, "ev-2.csv")))
	assert.Equal(t, 1, c.compressed)
}

// TestStopDuringCompression: a shutdown whose context ends stops the running
// compression: the plain file stays whole, no .gz (complete or not) is left,
// and the next start compresses it, also over the temporary file a crash
// in the middle of a compression leaves.
func TestStopDuringCompression(t *testing.T) {
	dir := t.TempDir()
	spec := rotatingSpec(dir)
	w, c := newTestWriter(t, spec, &fakeClock{t: day1})
	g := hold(w)
	require.NoError(t, w.write(equalRows(4), true))
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, w.Shutdown(ctx))
	full := testHeader + strings.Repeat("0,n0\r\n", 3)
	assert.Equal(t, []string{"ev-1.csv", "ev.csv"}, listDir(t, dir))
	assert.Equal(t, full, readFile(t, filepath.Join(dir, "ev.csv")))
	assert.Equal(t, 0, c.closed, "a file left for the next start is counted when compressed")

	// What a crash during a compression leaves next to the file.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ev.csv.gz.tmp"), []byte("\x1f\x8b half"), 0o600))
	next, c := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, next.write(equalRows(1), true))
	settle(next)
	assert.Equal(t, []string{"ev-1.csv", "ev.csv.gz"}, listDir(t, dir))
	assert.Equal(t, full, readGzip(t, filepath.Join(dir, "ev.csv.gz")))
	assert.Equal(t, testHeader+strings.Repeat("0,n0\r\n", 2), readFile(t, filepath.Join(dir, "ev-1.csv")))
	assert.Equal(t, 1, c.compressed)
}

// TestBacklogAtStartDoesNotHoldWrites: the files an earlier run left are
// compressed in the background; the first write and the ones after it do
// not wait for them.
func TestBacklogAtStartDoesNotHoldWrites(t *testing.T) {
	dir := t.TempDir()
	content := testHeader + strings.Repeat("9,old\r\n", 1000)
	for _, name := range []string{"ev_20251015.csv", "ev_20251016.csv", "ev_20251017.csv"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	spec := windowSpec(dir)
	spec.compress = true
	w, c := newTestWriter(t, spec, &fakeClock{t: day1})
	g := hold(w)
	require.NoError(t, w.write(batchOf(nil, day1), true))
	assert.Equal(t, filepath.Join(dir, "ev_20251015.csv"), <-g.entered)
	for i := 0; i < 10; i++ {
		require.NoError(t, w.write(batchOf(nil, day1), true))
	}
	assert.Equal(t, 0, c.compressed)
	close(g.release)
	settle(w)
	assert.Equal(t, []string{"ev_20251015.csv.gz", "ev_20251016.csv.gz", "ev_20251017.csv.gz", "ev_20251019.csv"}, listDir(t, dir))
	for _, name := range []string{"ev_20251015.csv.gz", "ev_20251016.csv.gz", "ev_20251017.csv.gz"} {
		assert.Equal(t, content, readGzip(t, filepath.Join(dir, name)), name)
	}
	assert.Equal(t, 3, c.compressed)
}
