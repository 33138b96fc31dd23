package csvexporter

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap/zaptest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const testHeader = "id,note\r\n"

// counts records the writer's hooks.
type counts struct {
	mu                          sync.Mutex
	closed, compressed, removed int
	errors, outOfRange          int
}

func (c *counts) hooks() writerHooks {
	return writerHooks{
		fileClosed: func(compressed bool) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.closed++
			if compressed {
				c.compressed++
			}
		},
		filesRemoved: func(n int) { c.mu.Lock(); c.removed += n; c.mu.Unlock() },
		writeError:   func() { c.mu.Lock(); c.errors++; c.mu.Unlock() },
		outOfRange:   func(n int) { c.mu.Lock(); c.outOfRange += n; c.mu.Unlock() },
	}
}

func testSpec(dir, name string) writerSpec {
	return writerSpec{
		template:   filepath.Join(dir, name),
		header:     testHeader,
		csvQuotes:  true,
		timeSource: TimeSourceEvent,
		fsync:      FsyncOnClose,
		dirPerm:    0o750,
		filePerm:   0o640,
	}
}

func newTestWriter(t *testing.T, spec writerSpec, clock *fakeClock) (*fileWriter, *counts) {
	c := &counts{}
	w := newFileWriter(spec, clock.Now, zaptest.NewLogger(t), c.hooks())
	t.Cleanup(func() {
		w.stopCompression(context.Background())
		_ = w.closeAll()
	})
	return w, c
}

// settle waits until the writer has compressed every file handed to it.
func settle(w *fileWriter) {
	for {
		w.mu.Lock()
		done := w.gz.done
		w.mu.Unlock()
		if done == nil {
			return
		}
		<-done
	}
}

// batchOf makes one CSV row "id,note" per time.
func batchOf(notes []string, times ...time.Time) *rowBatch {
	b := &rowBatch{}
	for i, at := range times {
		note := fmt.Sprintf("n%d", i)
		if i < len(notes) {
			note = notes[i]
		}
		b.data = appendCSVField(b.data, fmt.Sprintf("%d", i))
		b.data = append(b.data, ',')
		b.data = appendCSVField(b.data, note)
		b.data = append(b.data, "\r\n"...)
		b.ends = append(b.ends, len(b.data))
		b.times = append(b.times, at)
	}
	return b
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// readGzip checks the file is exactly one gzip stream and returns its content.
func readGzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	br := bufio.NewReader(f)
	zr, err := gzip.NewReader(br)
	require.NoError(t, err)
	zr.Multistream(false)
	data, err := io.ReadAll(zr)
	require.NoError(t, err)
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "%s holds more than one gzip stream", path)
	return string(data)
}

var day1 = time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)

func TestFilesByEventTime(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: day1}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.fsync = FsyncOnFlush
	w, _ := newTestWriter(t, spec, clock)
	// A row without a time goes by the clock.
	require.NoError(t, w.write(batchOf(nil, day1, day1.Add(24*time.Hour), time.Time{}, day1.Add(-24*time.Hour)), true))
	assert.Equal(t, []string{"ev_20251018.csv", "ev_20251019.csv", "ev_20251020.csv"}, listDir(t, dir))
	assert.Equal(t, testHeader+"0,n0\r\n2,n2\r\n", readFile(t, filepath.Join(dir, "ev_20251019.csv")))
	assert.Equal(t, testHeader+"1,n1\r\n", readFile(t, filepath.Join(dir, "ev_20251020.csv")))
	assert.Equal(t, testHeader+"3,n3\r\n", readFile(t, filepath.Join(dir, "ev_20251018.csv")))
}

func TestHourlyTemplate(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev_%Y-%m-%dT%H%%.csv")
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, day1.Add(90*time.Minute)), true))
	assert.Equal(t, []string{"ev_2025-10-19T13%.csv"}, listDir(t, dir))
}

func TestLocalTime(t *testing.T) {
	saved := time.Local
	time.Local = time.FixedZone("UTC+9", 9*3600)
	t.Cleanup(func() { time.Local = saved })
	dir := t.TempDir()
	spec := testSpec(dir, "ev_%Y%m%d%H.csv")
	spec.localTime = true
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, day1.Add(12*time.Hour)), true))
	assert.Equal(t, []string{"ev_2025102009.csv"}, listDir(t, dir))
}

func TestWallClockPeriodsAndGzip(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: day1}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.timeSource = TimeSourceWallClock
	spec.compress = true
	w, c := newTestWriter(t, spec, clock)
	// Event times are ignored: the clock decides.
	require.NoError(t, w.write(batchOf(nil, day1.Add(-48*time.Hour), day1.Add(48*time.Hour)), true))
	clock.Set(day1.Add(24 * time.Hour))
	w.tick() // the old day's file was written since the last tick: kept
	assert.Equal(t, []string{"ev_20251019.csv"}, listDir(t, dir))
	w.tick() // idle for a whole tick and its day is over: closed and compressed
	settle(w)
	assert.Equal(t, []string{"ev_20251019.csv.gz"}, listDir(t, dir))
	assert.Equal(t, testHeader+"0,n0\r\n1,n1\r\n", readGzip(t, filepath.Join(dir, "ev_20251019.csv.gz")))
	assert.Equal(t, 1, c.compressed)

	require.NoError(t, w.write(batchOf(nil, day1), true))
	assert.Equal(t, []string{"ev_20251019.csv.gz", "ev_20251020.csv"}, listDir(t, dir))

	// A late row for a compressed period (event time) starts the period's next file.
	w.spec.timeSource = TimeSourceEvent
	require.NoError(t, w.write(batchOf(nil, day1), true))
	assert.Equal(t, []string{"ev_20251019-1.csv", "ev_20251019.csv.gz", "ev_20251020.csv"}, listDir(t, dir))
}

func TestSizeRotation(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev.csv")
	row := "0,n0\r\n"
	spec.maxBytes = int64(len(testHeader) + 3*len(row))
	w, c := newTestWriter(t, spec, &fakeClock{t: day1})
	times := make([]time.Time, 8)
	notes := make([]string, 8)
	for i := range notes {
		notes[i] = "n0"
	}
	b := batchOf(notes, times...)
	// Make every row the same length.
	b.data = []byte(strings.Repeat(row, 8))
	for i := range b.ends {
		b.ends[i] = (i + 1) * len(row)
	}
	require.NoError(t, w.write(b, true))
	require.NoError(t, w.closeAll())
	assert.Equal(t, []string{"ev-1.csv", "ev-2.csv", "ev.csv"}, listDir(t, dir))
	assert.Equal(t, testHeader+strings.Repeat(row, 3), readFile(t, filepath.Join(dir, "ev.csv")))
	assert.Equal(t, testHeader+strings.Repeat(row, 3), readFile(t, filepath.Join(dir, "ev-1.csv")))
	assert.Equal(t, testHeader+strings.Repeat(row, 2), readFile(t, filepath.Join(dir, "ev-2.csv")))
	assert.Equal(t, 2, c.closed)

	// A restart continues the last file and rotates when it is full.
	w2, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	b.ends = b.ends[:2]
	require.NoError(t, w2.write(b, true))
	assert.Equal(t, []string{"ev-1.csv", "ev-2.csv", "ev-3.csv", "ev.csv"}, listDir(t, dir))
	assert.Equal(t, testHeader+strings.Repeat(row, 1), readFile(t, filepath.Join(dir, "ev-3.csv")))

	// A row larger than the limit still gets written, alone in its file.
	big := batchOf([]string{strings.Repeat("x", 100)}, time.Time{})
	require.NoError(t, w2.write(big, true))
	assert.Contains(t, readFile(t, filepath.Join(dir, "ev-4.csv")), strings.Repeat("x", 100))
}

func TestRetentionByCount(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: day1}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.maxFiles = 2
	spec.compress = true
	w, c := newTestWriter(t, spec, clock)
	for d := 0; d < 5; d++ {
		clock.Set(day1.Add(time.Duration(d) * 24 * time.Hour))
		require.NoError(t, w.write(batchOf(nil, clock.Now()), true))
		w.tick()
		w.tick()
	}
	settle(w)
	// The open file does not count; the two newest closed ones are kept.
	assert.Equal(t, []string{"ev_20251021.csv.gz", "ev_20251022.csv.gz", "ev_20251023.csv"}, listDir(t, dir))
	assert.Equal(t, 2, c.removed)
}

// TestRetentionByCountKeepsAPeriodsLastFiles: the files of a past period
// all age from the period's end, so they are removed in the order they were
// written (name.csv, name-1.csv, ..., name-10.csv), not by name.
func TestRetentionByCountKeepsAPeriodsLastFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 10, 18, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"ev_20251016.csv.gz", "ev_20251016-1.csv.gz", "ev_20251016-2.csv.gz", "ev_20251016-10.csv", "ev_20251016-9.csv.gz"} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(testHeader+"9,old\r\n"), 0o600))
		mtime := now.Add(-time.Hour) // after the period's end
		require.NoError(t, os.Chtimes(path, mtime, mtime))
	}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.maxFiles = 2
	w, c := newTestWriter(t, spec, &fakeClock{t: now})
	require.NoError(t, w.write(batchOf(nil, now), true))
	settle(w)
	assert.Equal(t, []string{"ev_20251016-10.csv", "ev_20251016-9.csv.gz", "ev_20251018.csv"}, listDir(t, dir))
	assert.Equal(t, 3, c.removed)
}

func TestRetentionByAgeAndSweepAtStart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 10, 18, 12, 0, 0, 0, time.UTC)
	old := now.Add(-10 * 24 * time.Hour)
	for name, mtime := range map[string]time.Time{
		"ev_20251001.csv":    old,                       // too old: removed
		"ev_20251002.csv.gz": old,                       // too old: removed
		"ev_20251017.csv":    now.Add(-48 * time.Hour),  // left by the last run: compressed
		"ev_20251018.csv":    now.Add(-time.Hour),       // today's (by the clock): continued
		"other.csv":          old,                       // not ours
		"ev_20251018.csv.tt": old,                       // not ours
		"ev_2025101.csv":     old,                       // not ours
		"ev_20251016-2.csv":  now.Add(-100 * time.Hour), // a rotated file: compressed
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(testHeader+"9,old\r\n"), 0o600))
		require.NoError(t, os.Chtimes(path, mtime, mtime))
	}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.maxAge = 7 * 24 * time.Hour
	spec.compress = true
	// Retention by age compares modification times with the writer's clock.
	w, c := newTestWriter(t, spec, &fakeClock{t: now})
	require.NoError(t, w.write(batchOf(nil, time.Date(2025, 10, 18, 9, 0, 0, 0, time.UTC)), true))
	settle(w)
	assert.Equal(t, []string{
		"ev_2025101.csv", "ev_20251016-2.csv.gz", "ev_20251017.csv.gz", "ev_20251018.csv", "ev_20251018.csv.tt", "other.csv",
	}, listDir(t, dir))
	assert.Equal(t, testHeader+"9,old\r\n0,n0\r\n", readFile(t, filepath.Join(dir, "ev_20251018.csv")))
	assert.Equal(t, testHeader+"9,old\r\n", readGzip(t, filepath.Join(dir, "ev_20251017.csv.gz")))
	info, err := os.Stat(filepath.Join(dir, "ev_20251017.csv.gz"))
	require.NoError(t, err)
	assert.WithinDuration(t, now.Add(-48*time.Hour), info.ModTime(), time.Second, "compression keeps the modification time")
	assert.Equal(t, 2, c.removed)
}

func TestTornLastRowRepaired(t *testing.T) {
	for _, tc := range []struct {
		name, header, content, kept, torn string
		csv                               bool
	}{
		{
			name:   "csv quoted newline",
			header: testHeader, csv: true,
			content: testHeader + "1,\"a\r\nb\"\r\n2,plain\r\n3,\"half\r\nwritten",
			kept:    testHeader + "1,\"a\r\nb\"\r\n2,plain\r\n",
			torn:    "3,\"half\r\nwritten",
		},
		{
			name:   "csv cut before lf",
			header: testHeader, csv: true,
			content: testHeader + "1,x\r\n2,y\r",
			kept:    testHeader + "1,x\r\n",
			torn:    "2,y\r",
		},
		{
			name:    "jsonl",
			content: "{\"a\":1}\n{\"a\":\"x\\ny\"}\n{\"a\":",
			kept:    "{\"a\":1}\n{\"a\":\"x\\ny\"}\n",
			torn:    "{\"a\":",
		},
		{
			name:   "complete file untouched",
			header: testHeader, csv: true,
			content: testHeader + "1,\"x\"\"\r\n\"\r\n",
			kept:    testHeader + "1,\"x\"\"\r\n\"\r\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ev.csv")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			spec := testSpec(dir, "ev.csv")
			spec.header, spec.csvQuotes = tc.header, tc.csv
			w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
			b := &rowBatch{data: []byte("new\r\n"), ends: []int{5}, times: []time.Time{{}}}
			require.NoError(t, w.write(b, true))
			assert.Equal(t, tc.kept+"new\r\n", readFile(t, path))
			if tc.torn == "" {
				assert.NoFileExists(t, path+".torn")
			} else {
				assert.Equal(t, tc.torn+"\n", readFile(t, path+".torn"))
			}
		})
	}
}

func TestOtherHeaderStartsNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ev.csv")
	require.NoError(t, os.WriteFile(path, []byte("old,columns\r\n1,2\r\n"), 0o600))
	w, _ := newTestWriter(t, testSpec(dir, "ev.csv"), &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, day1), true))
	assert.Equal(t, "old,columns\r\n1,2\r\n", readFile(t, path))
	assert.Equal(t, testHeader+"0,n0\r\n", readFile(t, filepath.Join(dir, "ev-1.csv")))
}

func TestBufferedUntilTick(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev.csv")
	spec.flushInterval = time.Hour
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, day1), false))
	assert.Empty(t, readFile(t, filepath.Join(dir, "ev.csv")))
	w.tick()
	assert.Equal(t, testHeader+"0,n0\r\n", readFile(t, filepath.Join(dir, "ev.csv")))
	require.NoError(t, w.write(batchOf(nil, day1), false))
	require.NoError(t, w.closeAll())
	assert.Equal(t, testHeader+"0,n0\r\n0,n0\r\n", readFile(t, filepath.Join(dir, "ev.csv")))
}

func TestDirectoryNotWritable(t *testing.T) {
	dir := t.TempDir()
	// A file where the directory should be: fails for root too.
	blocker := filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	w, c := newTestWriter(t, testSpec(blocker, "ev.csv"), &fakeClock{t: day1})
	err := w.write(batchOf(nil, day1), true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out")
	assert.Equal(t, 1, c.errors)
	assert.Nil(t, w.pending, "nothing was accepted, nothing is pending")

	require.NoError(t, os.Remove(blocker))
	require.NoError(t, w.write(batchOf(nil, day1), true))
	assert.Equal(t, testHeader+"0,n0\r\n", readFile(t, filepath.Join(blocker, "ev.csv")))
}

func TestDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	dir := t.TempDir()
	require.NoError(t, os.Symlink("/dev/full", filepath.Join(dir, "ev_20251019.csv")))
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.flushInterval = time.Hour
	w, c := newTestWriter(t, spec, &fakeClock{t: day1})

	// Buffered rows are accepted; the flush fails and keeps them.
	require.NoError(t, w.write(batchOf(nil, day1), false))
	w.tick()
	require.Error(t, w.pending)
	assert.Contains(t, w.pending.Error(), "disk is full")
	// While they cannot be written, new rows are refused (and stay with the caller).
	err := w.write(batchOf(nil, day1.Add(24*time.Hour)), true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk is full")
	assert.GreaterOrEqual(t, c.errors, 2)

	// Write-through: the failed batch is not kept in the buffer.
	w2, _ := newTestWriter(t, testSpec(dir, "ev_%Y%m%d.csv"), &fakeClock{t: day1})
	err = w2.write(batchOf(nil, day1, day1), true)
	require.Error(t, err)
	for _, of := range w2.files {
		assert.Equal(t, testHeader, string(of.buf))
	}
}

func TestSharedWriter(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev.csv")
	clock := &fakeClock{t: day1}
	c := &counts{}
	ctx := context.Background()
	host := componenttest.NewNopHost()
	a, err := acquireWriter(ctx, host, spec, clock.Now, zaptest.NewLogger(t), c.hooks())
	require.NoError(t, err)
	b, err := acquireWriter(ctx, host, spec, clock.Now, zaptest.NewLogger(t), c.hooks())
	require.NoError(t, err)
	assert.Same(t, a.Unwrap(), b.Unwrap())
	other := spec
	other.header = "x\r\n"
	_, err = acquireWriter(ctx, host, other, clock.Now, zaptest.NewLogger(t), c.hooks())
	require.ErrorContains(t, err, "different settings")

	// Both users write concurrently; every row stays whole.
	var wg sync.WaitGroup
	for _, w := range []*fileWriter{a.Unwrap(), b.Unwrap()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				assert.NoError(t, w.write(batchOf([]string{strings.Repeat("z", 5000)}, day1), false))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, a.Shutdown(ctx))
	// The other user still writes: the file stays open.
	require.NoError(t, b.Unwrap().write(batchOf([]string{"last"}, day1), true))
	require.NoError(t, b.Shutdown(ctx))
	rows := goReadCSV(t, filepath.Join(dir, "ev.csv"), ',')
	require.Len(t, rows, 402)
	for _, row := range rows[1:401] {
		assert.Equal(t, []string{"0", strings.Repeat("z", 5000)}, row)
	}
	assert.Equal(t, []string{"0", "last"}, rows[401])
	_, shared := writers.Load(filepath.Join(dir, "ev.csv"))
	assert.False(t, shared, "closed with its last user")
}

func TestTemplate(t *testing.T) {
	for path, want := range map[string]string{
		"a/%Y/ev.csv":   "only allowed in the file name",
		"a/ev_%M.csv":   "unknown time token",
		"a/ev_%":        "unknown time token",
		"a/":            "does not name a file",
		"a/ev_%Y%%.csv": "",
	} {
		err := checkTemplate(path)
		if want == "" {
			assert.NoError(t, err, path)
		} else {
			assert.ErrorContains(t, err, want, path)
		}
	}
	tmpl := parseTemplate("/data/wafer_events_%Y%m%d.csv")
	assert.Equal(t, "wafer_events_20251019", tmpl.resolve(day1))
	assert.Equal(t, "/data/wafer_events_20251019-2.csv", tmpl.path("wafer_events_20251019", 2))
	for name, match := range map[string]bool{
		"wafer_events_20251019.csv":       true,
		"wafer_events_20251019-12.csv.gz": true,
		"wafer_events_20251019.csv.torn":  false,
		"wafer_events_2025101.csv":        false,
		"wafer_events_20251019.jsonl":     false,
	} {
		assert.Equal(t, match, tmpl.all.MatchString(name), name)
	}
	noExt := parseTemplate("events")
	assert.Equal(t, "events-1", filepath.Base(noExt.path("events", 1)))
}
