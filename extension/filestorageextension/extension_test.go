package filestorageextension

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wafermonitor/wafermonitor/extension/filestorageextension/internal/metadata"
	"github.com/wafermonitor/wafermonitor/extension/filestorageextension/internal/metadatatest"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// statusHost records the status events reported through it.
type statusHost struct {
	mu     sync.Mutex
	events []*componentstatus.Event
	exts   map[component.ID]component.Component
}

func (h *statusHost) GetExtensions() map[component.ID]component.Component { return h.exts }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

type testExtension struct {
	*fileStorage
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
	host *statusHost
}

// startExtension runs the extension on dir, started, with its telemetry,
// logs and status events recorded.
func startExtension(t *testing.T, dir string) *testExtension {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.InfoLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Directory = dir
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	host := &statusHost{}
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return &testExtension{fileStorage: ext.(*fileStorage), tel: tel, logs: logs, host: host}
}

var csvID = component.MustNewID("csv")

func TestGetClientMovesDamagedFileAside(t *testing.T) {
	dir := t.TempDir()
	path := contribFile(t, dir, queueLike(300, 100, 900))
	sound, err := os.ReadFile(path) //nolint:gosec // the test's own file
	require.NoError(t, err)
	damaged := sound[:len(sound)/3]
	require.NoError(t, os.WriteFile(path, damaged, 0o600))

	e := startExtension(t, dir)
	e.now = func() time.Time { return time.Date(2025, 10, 19, 12, 0, 0, 0, time.FixedZone("CEST", 7200)) }
	client, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)

	movedTo := path + ".damaged-20251019T100000Z"
	kept, err := os.ReadFile(movedTo) //nolint:gosec // the test's own file
	require.NoError(t, err, "the damaged file is kept under its new name")
	assert.Equal(t, damaged, kept)

	// The component starts empty, on a new file that works.
	v, err := client.Get(context.Background(), "0")
	require.NoError(t, err)
	assert.Nil(t, v)
	require.NoError(t, client.Set(context.Background(), "k", []byte("v")))
	require.NoError(t, client.Close(context.Background()))
	assert.NoError(t, checkFile(path, time.Second))

	logged := e.logs.FilterMessageSnippet("Storage file damaged").All()
	require.Len(t, logged, 1)
	assert.Equal(t, zapcore.ErrorLevel, logged[0].Level)
	fields := logged[0].ContextMap()
	assert.Equal(t, path, fields["file"])
	assert.Equal(t, movedTo, fields["moved_to"])
	assert.Contains(t, fields["problem"], "cut short")
	assert.Equal(t, "csv", fields["component"])

	metadatatest.AssertEqualExtensionFileStorageDamagedFiles(t, e.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("file", "exporter_csv__logs"))},
	}, metricdatatest.IgnoreTimestamp())

	require.Len(t, e.host.events, 1)
	assert.Equal(t, componentstatus.StatusRecoverableError, e.host.events[0].Status())
	assert.ErrorContains(t, e.host.events[0].Err(), movedTo)

	assert.Equal(t, []spool.DamagedFile{{
		Owner: csvID, Kind: component.KindExporter, Name: "logs", Path: path, MovedTo: movedTo,
		Problem: fields["problem"].(string), At: time.Date(2025, 10, 19, 10, 0, 0, 0, time.UTC),
	}}, e.DamagedFiles())
}

func TestGetClientKeepsSoundFile(t *testing.T) {
	dir := t.TempDir()
	contribFile(t, dir, queueLike(300, 100, 900))
	e := startExtension(t, dir)
	client, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	defer client.Close(context.Background())
	v, err := client.Get(context.Background(), "299")
	require.NoError(t, err)
	assert.Len(t, v, 900, "what the file held is there")
	assert.Empty(t, e.DamagedFiles())
	assert.Empty(t, e.host.events)
	matches, err := filepath.Glob(filepath.Join(dir, "*"+damagedSuffix+"*"))
	require.NoError(t, err)
	assert.Empty(t, matches)
}

func TestGetClientDamagedTwiceInOneSecond(t *testing.T) {
	dir := t.TempDir()
	e := startExtension(t, dir)
	e.now = func() time.Time { return time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC) }
	path := filepath.Join(dir, fileName(component.KindProcessor, component.MustNewID("jobhierarchy"), ""))
	for range 3 {
		require.NoError(t, os.WriteFile(path, []byte("not a bbolt file"), 0o600))
		client, err := e.GetClient(context.Background(), component.KindProcessor, component.MustNewID("jobhierarchy"), "")
		require.NoError(t, err)
		require.NoError(t, client.Close(context.Background()))
	}
	var moved []string
	for _, d := range e.DamagedFiles() {
		moved = append(moved, filepath.Base(d.MovedTo))
	}
	assert.Equal(t, []string{
		"processor_jobhierarchy_.damaged-20251019T120000Z",
		"processor_jobhierarchy_.damaged-20251019T120000Z-2",
		"processor_jobhierarchy_.damaged-20251019T120000Z-3",
	}, moved)
}

func TestGetClientLockedFileIsNotMoved(t *testing.T) {
	dir := t.TempDir()
	path := contribFile(t, dir, queueLike(10, 5, 10))
	other := startExtension(t, dir) // another collector on the same directory
	held, err := other.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	defer held.Close(context.Background())

	e := startExtension(t, dir)
	e.timeout = 100 * time.Millisecond
	_, err = e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.ErrorContains(t, err, "locked by another process")
	assert.FileExists(t, path)
	assert.Empty(t, e.DamagedFiles())
}

// panickingStorage is contrib's extension whose first GetClient panics, as
// bbolt does in the caller's goroutine on some damage.
type panickingStorage struct {
	storage.Extension
	panicked bool
}

func (p *panickingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	if !p.panicked {
		p.panicked = true
		panic("assertion failed: Page expected to be: 7, but self identifies as 0")
	}
	return p.Extension.GetClient(ctx, kind, id, name)
}

func TestGetClientRecoversFromPanicInOpen(t *testing.T) {
	dir := t.TempDir()
	path := contribFile(t, dir, queueLike(10, 5, 10))
	e := startExtension(t, dir)
	e.inner = &panickingStorage{Extension: e.inner}
	client, err := e.GetClient(context.Background(), component.KindExporter, csvID, "logs")
	require.NoError(t, err)
	require.NoError(t, client.Close(context.Background()))
	require.Len(t, e.DamagedFiles(), 1)
	assert.Contains(t, e.DamagedFiles()[0].Problem, "Page expected to be")
	assert.FileExists(t, e.DamagedFiles()[0].MovedTo)
	assert.FileExists(t, path)
}

// TestFileNameMatchesContrib: the file checked is the file contrib opens.
func TestFileNameMatchesContrib(t *testing.T) {
	dir := t.TempDir()
	cfg := filestorage.NewFactory().CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := filestorage.NewFactory().Create(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
	require.NoError(t, err)
	tests := []struct {
		kind  component.Kind
		owner component.ID
		name  string
	}{
		{component.KindExporter, component.MustNewID("csv"), "logs"},
		{component.KindProcessor, component.MustNewID("jobhierarchy"), ""},
		{component.KindReceiver, component.MustNewIDWithName("filelog", "a/b#ü"), "ü"},
		{component.KindExtension, component.MustNewIDWithName("x", "ok.-_"), "name with/slash~ and 🙂"},
		{component.KindConnector, component.MustNewIDWithName("routing", "é"), "\xff"},
	}
	for _, tt := range tests {
		client, err := ext.(storage.Extension).GetClient(context.Background(), tt.kind, tt.owner, tt.name)
		require.NoError(t, err)
		require.NoError(t, client.Close(context.Background()))
		name := fileName(tt.kind, tt.owner, tt.name)
		assert.FileExists(t, filepath.Join(dir, name), "%s %s %q", tt.kind, tt.owner, tt.name)
		assert.NotContains(t, name, "/")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, len(tests), "no file other than those named")
	assert.Equal(t, metadata.Type.String(), "file_storage")
	assert.True(t, strings.HasPrefix(fileName(component.KindExporter, csvID, ""), "exporter_csv_"))
}
