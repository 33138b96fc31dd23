package jobhierarchyprocessor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// storageHost offers extensions to the processor, as the collector does.
type storageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var fileStorageID = component.MustNewID("file_storage")

// startFileStorage runs the real file_storage extension on dir.
func startFileStorage(t *testing.T, dir string) (extension.Extension, component.Host) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext, storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{fileStorageID: ext}}
}

func storageConfig() *Config {
	cfg := testConfig()
	cfg.Storage = &fileStorageID
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = time.Hour
	return cfg
}

func jobSpanOf(td ptrace.Traces, id string) ptrace.Span {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if v, ok := spans.At(k).Attributes().Get(semconv.AttrEntityID); ok && v.Str() == id {
					return spans.At(k)
				}
			}
		}
	}
	return ptrace.NewSpan()
}

func TestStateSurvivesRestartWithFileStorage(t *testing.T) {
	dir := t.TempDir()

	// Before the restart: job A runs, one of its subjobs ended; job B has a
	// subjob but its span has not come yet.
	ext, host := startFileStorage(t, dir)
	first := newHarness(t, storageConfig(), host)
	first.consumeLogs(startedAB())
	first.consumeTraces(finishedA1Span())
	first.consumeTraces(jobBSubjobs())
	first.clock.advance(10 * time.Minute)
	first.tick()
	first.shutdown()
	require.NoError(t, ext.Shutdown(context.Background()))

	// After it: a new process, a new extension on the same directory.
	ext, host = startFileStorage(t, dir)
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	second := newHarness(t, storageConfig(), host)
	second.clock.advance(20 * time.Minute)
	assert.Equal(t, 2, second.h.entities.len(), "job A and subjob A1 are still open")
	assert.Equal(t, 2, second.h.jobs.len())

	// Roll-ups continue: job B's span gets the subjob seen before the restart.
	second.consumeTraces(jobBSpan())
	jobB := jobSpanOf(second.allTraces(), jobB)
	assert.Equal(t, int64(1), jobB.Attributes().AsRaw()[semconv.AttrSubjobsTotal])
	assert.Equal(t, 3.0, jobB.Attributes().AsRaw()[semconv.AttrJobCPUUserSum])

	// An entity open before the restart still times out after it, an hour
	// after it was first seen, with the roll-ups of its subjobs.
	second.clock.advance(39 * time.Minute)
	second.tick()
	assert.Empty(t, syntheticRecords(second.allLogs()))
	second.clock.advance(time.Minute)
	second.tick()
	assert.ElementsMatch(t, []string{"timeout " + jobA, "timeout " + subA1}, kinds(syntheticRecords(second.allLogs())))
	jobA := jobSpanOf(second.allTraces(), jobA)
	assert.Equal(t, semconv.StatusTimedOut, jobA.Attributes().AsRaw()[semconv.AttrStatus])
	assert.Equal(t, int64(1), jobA.Attributes().AsRaw()[semconv.AttrSubjobsSucceeded])
	assert.Equal(t, int64(1), jobA.Attributes().AsRaw()[semconv.AttrSubjobsMissing], "job A declared 2 subjobs before the restart")
	assert.Equal(t, pcommonTimestamp(base), jobA.StartTimestamp())
}

// memClient is a storage.Client over a map, with failures on demand.
type memClient struct {
	mu    sync.Mutex
	data  map[string][]byte
	fail  bool
	calls int
}

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data[key], nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = value
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.data, key)
	return nil
}

func (c *memClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return errors.New("disk full")
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = c.data[op.Key]
		case storage.Set:
			c.data[op.Key] = op.Value
		case storage.Delete:
			delete(c.data, op.Key)
		}
	}
	return nil
}

func (*memClient) Close(context.Context) error { return nil }

func TestCheckpointWritesOnlyChangesAndRetries(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	client := &memClient{data: map[string][]byte{}}
	hs.h.client = client
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.tick()
	require.Len(t, client.data, 1, "one bucket holds the one entity")
	assert.Contains(t, client.data, entitiesKey(bucketOf(jobA)))

	calls := client.calls
	hs.tick()
	assert.Equal(t, calls, client.calls, "nothing changed, nothing written")

	client.fail = true
	hs.consumeLogs(started(semconv.EntityTypeJob, jobB, "", base))
	hs.tick()
	client.fail = false
	hs.tick()
	assert.Contains(t, client.data, entitiesKey(bucketOf(jobB)), "the failed write is retried at the next check")

	// A finished entity empties its bucket, which is deleted.
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: jobA, kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: base})
	hs.consumeLogs(ld)
	hs.tick()
	if bucketOf(jobA) != bucketOf(jobB) {
		assert.NotContains(t, client.data, entitiesKey(bucketOf(jobA)))
	}
	hs.h.client = nil
}

func TestDamagedStateIsSkipped(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	client := &memClient{data: map[string][]byte{
		entitiesKey(3): []byte("{not json"),
		entitiesKey(4): []byte(`[{"type":"job","id":"` + jobA + `","opened":1,"seen":1}]`),
	}}
	hs.h.client = client
	require.NoError(t, hs.h.restore(context.Background()))
	_, ok := hs.h.entities.get(jobA)
	assert.True(t, ok)
	hs.h.client = nil
}

func TestMissingStorageExtension(t *testing.T) {
	cfg := storageConfig()
	tp, err := NewFactory().CreateTraces(context.Background(), processortestSettings(), cfg, new(consumertestTracesSink))
	require.NoError(t, err)
	err = tp.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, `storage: extension "file_storage" is not configured`)
	require.NoError(t, tp.Shutdown(context.Background()))
}
