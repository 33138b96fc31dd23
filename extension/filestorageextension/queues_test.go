package filestorageextension

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// backend is what the exporter sends to: down until it is brought up.
type backend struct {
	up        atomic.Bool
	delivered atomic.Int64
}

func (b *backend) push(_ context.Context, ld plog.Logs) error {
	if !b.up.Load() {
		return errors.New("backend down")
	}
	b.delivered.Add(int64(ld.LogRecordCount()))
	return nil
}

var storageID = component.MustNewID("file_storage")

// queueExporter is an exporter built on the exporter helper with a
// persistent sending queue in the extension, retrying every few
// milliseconds for ever.
func queueExporter(t *testing.T, ext *testExtension, push func(context.Context, plog.Logs) error, batch bool) exporter.Logs {
	t.Helper()
	return queueExporterWith(t, ext, push, func(q *exporterhelper.QueueBatchConfig) {
		if batch { // as the shipped configuration does
			q.Batch = configoptional.Some(exporterhelper.BatchConfig{
				FlushTimeout: 20 * time.Millisecond, Sizer: exporterhelper.RequestSizerTypeItems, MinSize: 1000, MaxSize: 10000,
			})
		}
	})
}

// queueExporterWith is queueExporter with its queue's settings changed by
// configure.
func queueExporterWith(tb testing.TB, ext *testExtension, push func(context.Context, plog.Logs) error, configure func(q *exporterhelper.QueueBatchConfig)) exporter.Logs {
	tb.Helper()
	q := exporterhelper.NewDefaultQueueConfig()
	q.StorageID = &storageID
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = 100000
	configure(&q)
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval, retry.MaxInterval, retry.MaxElapsedTime = 5*time.Millisecond, 20*time.Millisecond, 0
	set := exportertest.NewNopSettings(csvID.Type())
	set.ID = csvID
	exp, err := exporterhelper.NewLogs(context.Background(), set, &struct{}{}, push,
		exporterhelper.WithQueue(configoptional.Some(q)), exporterhelper.WithRetry(retry))
	require.NoError(tb, err)
	ext.host.exts = map[component.ID]component.Component{storageID: ext.fileStorage}
	require.NoError(tb, exp.Start(context.Background(), ext.host))
	return exp
}

func logs(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lrs.AppendEmpty().Body().SetStr("event")
	}
	return ld
}

// queued is the one queue the extension knows of, waited for until cond
// holds.
func waitQueue(t *testing.T, ext *testExtension, what string, cond func(q spool.Queue) bool) spool.Queue {
	t.Helper()
	var last []spool.Queue
	require.Eventually(t, func() bool {
		last = ext.Queues()
		return len(last) == 1 && cond(last[0])
	}, time.Minute, 5*time.Millisecond, "waiting for %s; queues: %+v", what, &last)
	return last[0]
}

// TestQueuesFollowTheExporterHelper runs the real exporter helper's
// persistent queue on the extension: Queues counts the items it holds
// while the backend is down, and 0 once they are delivered. It breaks when
// the exporter helper changes its metadata's key or format.
func TestQueuesFollowTheExporterHelper(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "no batching", true: "batching in the queue"}[batch], func(t *testing.T) {
			ext := startExtension(t, t.TempDir())
			b := &backend{}
			exp := queueExporter(t, ext, b.push, batch)
			for _, n := range []int{7, 1, 30, 2} {
				require.NoError(t, exp.ConsumeLogs(context.Background(), logs(n)))
			}
			q := waitQueue(t, ext, "40 items", func(q spool.Queue) bool { return q.Items == 40 })
			assert.Equal(t, spool.Queue{Owner: csvID, Kind: component.KindExporter, Name: "logs", Items: 40}, q)
			assert.True(t, filepath.IsAbs(ext.Directory()), ext.Directory())

			b.up.Store(true)
			q = waitQueue(t, ext, "an empty queue", func(q spool.Queue) bool { return q.Items == 0 })
			assert.Equal(t, int64(40), b.delivered.Load())
			assert.Equal(t, int64(40), q.Removed, "every item that left the queue")
			require.NoError(t, exp.Shutdown(context.Background()))
		})
	}
}

// TestQueuesReadAtStart: after a restart the queue's items are counted from
// the file before anything is written.
func TestQueuesReadAtStart(t *testing.T) {
	dir := t.TempDir()
	first := startExtension(t, dir)
	exp := queueExporter(t, first, (&backend{}).push, false)
	require.NoError(t, exp.ConsumeLogs(context.Background(), logs(25)))
	waitQueue(t, first, "25 items", func(q spool.Queue) bool { return q.Items == 25 })
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, first.Shutdown(context.Background()))

	again := startExtension(t, dir)
	client, err := again.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	assert.Equal(t, []spool.Queue{{Owner: csvID, Kind: component.KindExporter, Name: "logs", Items: 25}}, again.Queues())
	require.NoError(t, client.Close(context.Background()))
}

func TestQueuesLeaveOtherClientsOut(t *testing.T) {
	ext := startExtension(t, t.TempDir())
	client, err := ext.GetClient(context.Background(), component.KindProcessor, component.MustNewID("jobhierarchy"), "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), "v1/jobs/00", []byte("[]")))
	assert.Empty(t, ext.Queues())
	require.NoError(t, client.Close(context.Background()))
}

func TestQueueItems(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    int64
		wantErr bool
	}{
		{"empty: proto3 default", nil, 0, false},
		{"items_size 5", []byte{0x09, 5, 0, 0, 0, 0, 0, 0, 0}, 5, false},
		{"other fields skipped", []byte{0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x09, 3, 0, 0, 0, 0, 0, 0, 0, 0x2a, 2, 1, 2}, 3, false},
		{"last one wins", []byte{0x09, 5, 0, 0, 0, 0, 0, 0, 0, 0x09, 6, 0, 0, 0, 0, 0, 0, 0}, 6, false},
		{"truncated", []byte{0x09, 5, 0}, 0, true},
		{"negative", []byte{0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, true},
		{"bad tag", []byte{0xff}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := queueItems(tt.in)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDirectoryIsAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = "./data/queue"
	ext, err := NewFactory().Create(context.Background(), newBenchSettings(), cfg)
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(wd, "data", "queue"), ext.(spool.Source).Directory())
	require.NoError(t, ext.Shutdown(context.Background()))
}
