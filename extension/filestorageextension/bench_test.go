package filestorageextension

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchQueueFile writes a queue file of items of 1 KiB in contrib's format,
// with queue metadata, as a backlog after an outage leaves it.
func benchQueueFile(b *testing.B, dir string, items int) {
	b.Helper()
	path := filepath.Join(dir, fileName(component.KindExporter, csvID, "logs"))
	db, err := bbolt.Open(path, 0o600, contribOptions())
	require.NoError(b, err)
	value := make([]byte, 1024)
	for start := 0; start < items; start += 10000 {
		require.NoError(b, db.Update(func(tx *bbolt.Tx) error {
			bucket, err := tx.CreateBucketIfNotExists([]byte("default"))
			for i := start; err == nil && i < min(start+10000, items); i++ {
				err = bucket.Put([]byte(strconv.Itoa(i)), value)
			}
			if err == nil {
				err = bucket.Put([]byte(queueMetadataKey), []byte{9, 1, 0, 0, 0, 0, 0, 0, 0})
			}
			return err
		}))
	}
	require.NoError(b, db.Close())
}

// BenchmarkGetClient: a component's start on a queue file with a backlog,
// through contrib's extension alone and through this one (the file check
// first). The check reads what bbolt's own open walks as well.
func BenchmarkGetClient(b *testing.B) {
	for _, items := range []int{1000, 100000} {
		dir := b.TempDir()
		benchQueueFile(b, dir, items)
		info, err := os.Stat(filepath.Join(dir, fileName(component.KindExporter, csvID, "logs")))
		require.NoError(b, err)
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		cfg.Directory = dir
		ext, err := NewFactory().Create(context.Background(), newBenchSettings(), cfg)
		require.NoError(b, err)
		e := ext.(*fileStorage)
		for _, peer := range []struct {
			name string
			get  func() (storage.Client, error)
		}{
			{"contrib", func() (storage.Client, error) {
				return e.inner.GetClient(context.Background(), component.KindExporter, csvID, "logs")
			}},
			{"checked", func() (storage.Client, error) {
				return e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
			}},
		} {
			b.Run(fmt.Sprintf("%s/%d_items_%d_MiB", peer.name, items, info.Size()>>20), func(b *testing.B) {
				for b.Loop() {
					c, err := peer.get()
					if err != nil {
						b.Fatal(err)
					}
					_ = c.Close(context.Background())
				}
			})
		}
		require.NoError(b, ext.Shutdown(context.Background()))
	}
}

// BenchmarkBatch: the persistent queue's write of an item with its
// metadata, on contrib's client and on this extension's, which decodes the
// metadata written.
func BenchmarkBatch(b *testing.B) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = b.TempDir()
	ext, err := NewFactory().Create(context.Background(), newBenchSettings(), cfg)
	require.NoError(b, err)
	defer func() { require.NoError(b, ext.Shutdown(context.Background())) }()
	e := ext.(*fileStorage)
	inner, err := e.inner.GetClient(context.Background(), component.KindExporter, component.MustNewID("a"), "logs")
	require.NoError(b, err)
	wrapped, err := e.GetClient(context.Background(), component.KindExporter, component.MustNewID("b"), "logs")
	require.NoError(b, err)
	meta := []byte{0x09, 7, 0, 0, 0, 0, 0, 0, 0, 0x11, 0, 4, 0, 0, 0, 0, 0, 0, 0x19, 3, 0, 0, 0, 0, 0, 0, 0, 0x21, 5, 0, 0, 0, 0, 0, 0, 0}
	item := make([]byte, 1024)
	for _, peer := range []struct {
		name   string
		client storage.Client
	}{{"contrib", inner}, {"tracked", wrapped}} {
		b.Run(peer.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if err := peer.client.Batch(context.Background(), storage.SetOperation(queueMetadataKey, meta),
					storage.SetOperation(strconv.Itoa(i%1000), item)); err != nil {
					b.Fatal(err)
				}
			}
		})
		require.NoError(b, peer.client.Close(context.Background()))
	}
}

// BenchmarkQueueItem: an item through the exporter helper's persistent
// queue on the extension, as the shipped csv exporter's: offered from 16
// goroutines, read and done by one consumer, fsync off. With the queue's
// progress written with its next write (deferred), and with every read
// and done written at once (each). An op is one item, offered and done;
// txns are the bbolt transactions (calls to contrib's client).
func BenchmarkQueueItem(b *testing.B) {
	body := strings.Repeat("x", 200)
	for _, deferred := range []bool{true, false} {
		b.Run(map[bool]string{true: "progress=deferred", false: "progress=each"}[deferred], func(b *testing.B) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.Directory = b.TempDir()
			ext, err := NewFactory().Create(context.Background(), newBenchSettings(), cfg)
			require.NoError(b, err)
			e := ext.(*fileStorage)
			e.deferProgress = deferred
			require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
			var exported atomic.Int64
			target := int64(b.N)
			all := make(chan struct{})
			exp := queueExporterWith(b, &testExtension{fileStorage: e, host: &statusHost{}}, func(_ context.Context, ld plog.Logs) error {
				if exported.Add(int64(ld.LogRecordCount())) == target {
					close(all)
				}
				return nil
			}, func(q *exporterhelper.QueueBatchConfig) {
				q.NumConsumers = 1
				q.QueueSize = int64(b.N) + 1
			})
			ld := logs(1)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(body)
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
						b.Error(err)
						return
					}
				}
			})
			<-all
			b.StopTimer()
			for _, f := range e.clients { // one: the queue's
				b.ReportMetric(float64(f.access.uses.Load())/float64(b.N), "txns/op")
			}
			require.NoError(b, exp.Shutdown(context.Background()))
			require.NoError(b, ext.Shutdown(context.Background()))
		})
	}
}

func newBenchSettings() extension.Settings {
	return extensiontest.NewNopSettings(component.MustNewType("file_storage"))
}
