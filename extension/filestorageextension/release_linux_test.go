package filestorageextension

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// quietExtension is the extension on dir, started without its release
// loop: the test looks at the files itself (releaseQuiet); and without
// the queues' progress layer, whose cache would answer the reads of what
// was written without the file.
func quietExtension(t *testing.T, dir string) *fileStorage {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = dir
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(t, err)
	e := ext.(*fileStorage)
	e.releaseMaps = false
	e.deferProgress = false
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.Shutdown(context.Background())) })
	return e
}

func value(i, size int) []byte {
	return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2)
}

// fill writes n values of size bytes under keys from..from+n, a batch of
// ten at a time.
func fill(t *testing.T, c storage.Client, from, n, size int) {
	t.Helper()
	for i := from; i < from+n; i += 10 {
		var ops []*storage.Operation
		for k := i; k < min(i+10, from+n); k++ {
			ops = append(ops, storage.SetOperation(strconv.Itoa(k), value(k, size)))
		}
		require.NoError(t, c.Batch(context.Background(), ops...))
	}
}

func readBack(t *testing.T, c storage.Client, n, size int) {
	t.Helper()
	for i := range n {
		v, err := c.Get(context.Background(), strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, value(i, size), v, "key %d", i)
	}
}

func TestReleaseDropsQuietFilesPages(t *testing.T) {
	const n, size = 256, 16 << 10 // 4 MiB
	e := quietExtension(t, t.TempDir())
	c, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	path := e.clients[filepath.Join(e.directory, fileName(component.KindExporter, csvID, "logs"))].path
	fill(t, c, 0, n, size)
	readBack(t, c, n, size)
	inUse := testcollector.MappedRSS(t, os.Getpid(), path)
	require.Greater(t, inUse, 2<<20, "the values read back are mapped")

	e.releaseQuiet() // used since the last look: not quiet
	assert.Greater(t, testcollector.MappedRSS(t, os.Getpid(), path), 2<<20, "a file in use keeps its pages")
	e.releaseQuiet()
	released := testcollector.MappedRSS(t, os.Getpid(), path)
	t.Logf("mapped pages of a %d KiB file read back: %d KiB; after the release: %d KiB", n*size>>10, inUse>>10, released>>10)
	assert.LessOrEqual(t, released, 64<<10)

	// The data is still there, through the same map, and the file grows
	// (bbolt maps it anew) after a release.
	readBack(t, c, n, size)
	fill(t, c, n, 4*n, size)
	readBack(t, c, 5*n, size)
	e.releaseQuiet()
	e.releaseQuiet()
	assert.LessOrEqual(t, testcollector.MappedRSS(t, os.Getpid(), path), 64<<10)
	readBack(t, c, 5*n, size)

	// A closed client is left alone.
	require.NoError(t, c.Close(context.Background()))
	e.releaseQuiet()
	e.releaseQuiet()
}

// TestReleaseThroughSymlinkedDirectory: a data directory reached through a
// symbolic link is released too (the kernel names the map by the real path).
func TestReleaseThroughSymlinkedDirectory(t *testing.T) {
	const n, size = 128, 16 << 10 // 2 MiB
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real"), filepath.Join(dir, "link")
	require.NoError(t, os.Mkdir(real, 0o700))
	require.NoError(t, os.Symlink(real, link))
	e := quietExtension(t, link)
	c, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	path := filepath.Join(real, fileName(component.KindExporter, csvID, "logs"))
	fill(t, c, 0, n, size)
	readBack(t, c, n, size)
	require.Greater(t, testcollector.MappedRSS(t, os.Getpid(), path), 1<<20, "the values read back are mapped")
	e.releaseQuiet()
	e.releaseQuiet()
	assert.LessOrEqual(t, testcollector.MappedRSS(t, os.Getpid(), path), 64<<10)
	readBack(t, c, n, size)
}

// TestReleaseWhileTheFileGrows releases the map over and over while writers
// grow the file, so that bbolt maps it anew many times: every value reads
// back as written.
func TestReleaseWhileTheFileGrows(t *testing.T) {
	const writers, perWriter, size = 4, 200, 8 << 10
	e := quietExtension(t, t.TempDir())
	c, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	f := e.clients[filepath.Join(e.directory, fileName(component.KindExporter, csvID, "logs"))]
	var wg sync.WaitGroup
	done := make(chan struct{})
	releases := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				assert.NoError(t, e.release(f))
				releases++
			}
		}
	}()
	var writersWg sync.WaitGroup
	for w := range writers {
		writersWg.Add(1)
		go func() {
			defer writersWg.Done()
			for i := w * perWriter; i < (w+1)*perWriter; i++ {
				assert.NoError(t, c.Set(context.Background(), strconv.Itoa(i), value(i, size)))
				if i%10 == 9 {
					for k := w * perWriter; k <= i; k += 7 {
						v, err := c.Get(context.Background(), strconv.Itoa(k))
						assert.NoError(t, err)
						assert.Equal(t, value(k, size), v)
					}
				}
			}
		}()
	}
	writersWg.Wait()
	close(done)
	wg.Wait()
	readBack(t, c, writers*perWriter, size)
	require.NoError(t, c.Close(context.Background()))
	t.Logf("%d releases while %d values were written", releases, writers*perWriter)
	assert.Positive(t, releases)
}

func TestReleaseOffWithOnlineCompaction(t *testing.T) {
	for _, onRebound := range []bool{false, true} {
		t.Run(fmt.Sprint("on_rebound=", onRebound), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.Compaction.OnRebound = onRebound
			ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(NewFactory().Type()), cfg)
			require.NoError(t, err)
			assert.Equal(t, !onRebound, ext.(*fileStorage).releaseMaps)
		})
	}
}

func TestFileMaps(t *testing.T) {
	const path = "/data/queue/exporter_csv__logs"
	maps := []byte(`00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/otelcol
7f0000000000-7f0000100000 r--s 00000000 fd:01 42 /data/queue/exporter_csv__logs
7f0000200000-7f0000300000 rw-s 00000000 fd:01 42 /data/queue/exporter_csv__logs
7f0000400000-7f0000500000 r--p 00000000 fd:01 42 /data/queue/exporter_csv__logs
7f0000600000-7f0000700000 r--s 00000000 fd:01 43 /data/queue/exporter_csv__logs
7f0000800000-7f0000900000 r--s 00000000 fd:01 42 /data/queue/exporter_csv__logs (deleted)
7f0000a00000-7f0000b00000 r--s 00000000 fd:01 42 /data/queue/exporter_csv__logs2
7f0000c00000-7f0000d00000 rw-p 00000000 00:00 0
7f0000e00000-7f0001000000 r--s 00000000 fd:01 42 /data/queue/exporter_csv__logs
zzzz-7f0001000000 r--s 00000000 fd:01 42 /data/queue/exporter_csv__logs
`)
	assert.Equal(t, []addrRange{{0x7f0000000000, 0x7f0000100000}, {0x7f0000e00000, 0x7f0001000000}}, fileMaps(maps, path, 42))
	assert.Empty(t, fileMaps(maps, path, 44))
}
