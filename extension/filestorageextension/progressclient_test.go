package filestorageextension

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

var (
	errInner  = errors.New("inner client failed")
	errClosed = errors.New("inner client closed")
)

// mapClient is a storage client over a map, with bbolt's semantics: a
// batch applies all its operations or none, a Get returns a copy. It
// counts its calls and fails the next `fail` batches.
type mapClient struct {
	data    map[string][]byte
	batches [][]storage.Operation // the operations of every batch, as called
	fail    int
	closes  int
}

func newMapClient() *mapClient { return &mapClient{data: map[string][]byte{}} }

func (m *mapClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	if m.closes > 0 {
		return errClosed
	}
	called := make([]storage.Operation, len(ops))
	for i, op := range ops {
		called[i] = *op
	}
	m.batches = append(m.batches, called)
	if m.fail > 0 {
		m.fail--
		return errInner
	}
	next := maps.Clone(m.data)
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = bytes.Clone(next[op.Key])
		case storage.Set:
			next[op.Key] = bytes.Clone(op.Value)
		case storage.Delete:
			delete(next, op.Key)
		default:
			return errors.New("wrong operation type")
		}
	}
	m.data = next
	return nil
}

func (m *mapClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := m.Batch(ctx, op)
	return op.Value, err
}

func (m *mapClient) Set(ctx context.Context, key string, value []byte) error {
	return m.Batch(ctx, storage.SetOperation(key, value))
}

func (m *mapClient) Delete(ctx context.Context, key string) error {
	return m.Batch(ctx, storage.DeleteOperation(key))
}

func (m *mapClient) Close(context.Context) error {
	m.closes++
	return nil
}

// manualTimer is the progress client's timer, fired by the test.
type manualTimer struct {
	mu    sync.Mutex
	f     func()
	delay time.Duration
}

func (m *manualTimer) after(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.f, m.delay = f, d
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		armed := m.f != nil
		m.f = nil
		return armed
	}
}

func (m *manualTimer) armed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.f != nil
}

// fire runs the timer's function as the timer would; false if none is set.
func (m *manualTimer) fire() bool {
	m.mu.Lock()
	f := m.f
	m.f = nil
	m.mu.Unlock()
	if f == nil {
		return false
	}
	f()
	return true
}

type progressFixture struct {
	inner  *mapClient
	timer  *manualTimer
	client *progressClient
	logs   *observer.ObservedLogs
}

func newProgressFixture() *progressFixture {
	core, logs := observer.New(zapcore.InfoLevel)
	f := &progressFixture{inner: newMapClient(), timer: &manualTimer{}, logs: logs}
	f.client = newProgressClient(f.inner, zap.New(core), f.timer.after)
	return f
}

// The persistent queue's three batches for an item.
func offer(meta, key string, item []byte) []*storage.Operation {
	return []*storage.Operation{storage.SetOperation(queueMetadataKey, []byte(meta)), storage.SetOperation(key, item)}
}

func read(meta, key string) []*storage.Operation {
	return []*storage.Operation{storage.SetOperation(queueMetadataKey, []byte(meta)), storage.GetOperation(key)}
}

func done(meta, key string) []*storage.Operation {
	return []*storage.Operation{storage.SetOperation(queueMetadataKey, []byte(meta)), storage.DeleteOperation(key)}
}

func (f *progressFixture) batch(t *testing.T, ops []*storage.Operation) []*storage.Operation {
	t.Helper()
	require.NoError(t, f.client.Batch(context.Background(), ops...))
	return ops
}

func TestProgressWaitsForTheNextWrite(t *testing.T) {
	f := newProgressFixture()
	item := []byte("item 0")
	f.batch(t, offer("m1", "0", item))
	require.Len(t, f.inner.batches, 1, "an item is written at once")

	got := f.batch(t, read("m2", "0"))[1].Value
	assert.Equal(t, item, got)
	assert.Same(t, &item[0], &got[0], "the item written is handed over, not copied")
	f.batch(t, done("m3", "0"))
	assert.Len(t, f.inner.batches, 1, "a read and a done wait")
	assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m1"), "0": item}, f.inner.data)
	assert.True(t, f.timer.armed())
	assert.Equal(t, progressFlushDelay, f.timer.delay)

	f.batch(t, offer("m4", "1", []byte("item 1")))
	require.Len(t, f.inner.batches, 2, "the next write takes them along, in one batch")
	assert.Len(t, f.inner.batches[1], 4, "the pending metadata and delete, the new metadata and item")
	assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m4"), "1": []byte("item 1")}, f.inner.data)

	assert.True(t, f.timer.fire(), "the timer set by the first deferred write")
	assert.Len(t, f.inner.batches, 2, "nothing left to write")
	require.NoError(t, f.client.Close(context.Background()))
}

func TestProgressWrittenByTimer(t *testing.T) {
	f := newProgressFixture()
	f.batch(t, offer("m1", "0", []byte("a")))
	f.batch(t, read("m2", "0"))
	f.batch(t, done("m3", "0"))
	require.True(t, f.timer.fire())
	require.Len(t, f.inner.batches, 2)
	assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m3")}, f.inner.data)
	assert.False(t, f.timer.armed(), "set again only by the next deferred write")
	f.batch(t, done("m4", "7"))
	assert.True(t, f.timer.armed())
	require.NoError(t, f.client.Close(context.Background()))
}

func TestProgressWrittenWhenManyPending(t *testing.T) {
	f := newProgressFixture()
	f.client.maxPending = 3
	for _, key := range []string{"0", "1"} {
		f.batch(t, done("m", key))
	}
	assert.Empty(t, f.inner.batches, "3 keys pending")
	f.batch(t, done("m", "2"))
	require.Len(t, f.inner.batches, 1, "4 keys pending")
	assert.Len(t, f.inner.batches[0], 4)
	require.NoError(t, f.client.Close(context.Background()))
}

func TestProgressClose(t *testing.T) {
	f := newProgressFixture()
	f.inner.data["0"] = []byte("a")
	f.batch(t, done("m", "0"))
	require.NoError(t, f.client.Close(context.Background()))
	assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m")}, f.inner.data, "written before closing")
	assert.Equal(t, 1, f.inner.closes)
	assert.False(t, f.timer.armed(), "the timer is stopped")

	// Then it is the inner client's.
	require.NoError(t, f.client.Close(context.Background()))
	assert.Equal(t, 2, f.inner.closes)
	assert.ErrorIs(t, f.client.Batch(context.Background(), done("n", "1")...), errClosed)
	_, err := f.client.Get(context.Background(), queueMetadataKey)
	assert.ErrorIs(t, err, errClosed)
}

func TestProgressGetsSeePending(t *testing.T) {
	f := newProgressFixture()
	f.inner.data["0"] = []byte("a")
	f.inner.data[queueMetadataKey] = []byte("m0")
	meta := []byte("m1")
	f.batch(t, []*storage.Operation{storage.SetOperation(queueMetadataKey, meta), storage.DeleteOperation("0")})

	v, err := f.client.Get(context.Background(), "0")
	require.NoError(t, err)
	assert.Nil(t, v, "deleted")
	v, err = f.client.Get(context.Background(), queueMetadataKey)
	require.NoError(t, err)
	assert.Equal(t, meta, v)
	assert.NotSame(t, &meta[0], &v[0], "a copy, as the inner client's")
	assert.Empty(t, f.inner.batches)

	// In one batch: a Get sees the writes before it, not those after it.
	ops := f.batch(t, []*storage.Operation{storage.GetOperation("1"), storage.SetOperation(queueMetadataKey, []byte("m2")),
		storage.GetOperation(queueMetadataKey), storage.DeleteOperation("1")})
	assert.Nil(t, ops[0].Value)
	assert.Equal(t, []byte("m2"), ops[2].Value)
	require.NoError(t, f.client.Close(context.Background()))
}

func TestProgressMissReadsThroughAndWrites(t *testing.T) {
	f := newProgressFixture()
	f.inner.data["5"] = []byte("left from the last run")
	f.batch(t, done("m1", "0"))
	ops := f.batch(t, read("m2", "5"))
	assert.Equal(t, []byte("left from the last run"), ops[1].Value)
	require.Len(t, f.inner.batches, 1, "the read and what was pending, in one batch")
	assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m1"), "5": []byte("left from the last run")}, f.inner.data,
		"what was pending is written; the read's own metadata waits")
	require.NoError(t, f.client.Close(context.Background()))
	assert.Equal(t, []byte("m2"), f.inner.data[queueMetadataKey])
}

func TestProgressInnerErrors(t *testing.T) {
	t.Run("a write fails with what is pending, then alone", func(t *testing.T) {
		f := newProgressFixture()
		f.inner.data["0"] = []byte("a")
		f.batch(t, done("m1", "0"))
		f.inner.fail = 1
		f.batch(t, offer("m2", "1", []byte("b")))
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m2"), "0": []byte("a"), "1": []byte("b")}, f.inner.data)
		assert.Equal(t, 1, f.logs.FilterMessageSnippet("kept for the next one").Len())
		require.True(t, f.timer.fire())
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m2"), "1": []byte("b")}, f.inner.data,
			"the delete follows; the older metadata it superseded does not")
		require.NoError(t, f.client.Close(context.Background()))
	})
	t.Run("a write fails both times", func(t *testing.T) {
		f := newProgressFixture()
		f.batch(t, done("m1", "0"))
		f.inner.fail = 2
		require.ErrorIs(t, f.client.Batch(context.Background(), offer("m2", "1", []byte("b"))...), errInner)
		v, err := f.client.Get(context.Background(), "1")
		require.NoError(t, err)
		assert.Nil(t, v, "not cached: not written")
		require.NoError(t, f.client.Close(context.Background()))
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m1")}, f.inner.data)
	})
	t.Run("a read fails with what is pending, then alone", func(t *testing.T) {
		f := newProgressFixture()
		f.inner.data["5"] = []byte("x")
		f.batch(t, done("m1", "0"))
		f.inner.fail = 1
		assert.Equal(t, []byte("x"), f.batch(t, read("m5", "5"))[1].Value)
		assert.Equal(t, map[string][]byte{"5": []byte("x")}, f.inner.data)
		require.NoError(t, f.client.Close(context.Background()))
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m5"), "5": []byte("x")}, f.inner.data)
	})
	t.Run("a read fails both times: nothing of the batch is done", func(t *testing.T) {
		f := newProgressFixture()
		f.inner.data["5"] = []byte("x")
		f.batch(t, done("m1", "0"))
		f.inner.fail = 2
		require.ErrorIs(t, f.client.Batch(context.Background(), storage.DeleteOperation("5"), storage.GetOperation("6")), errInner)
		v, err := f.client.Get(context.Background(), "5")
		require.NoError(t, err)
		assert.Equal(t, []byte("x"), v)
		require.NoError(t, f.client.Close(context.Background()))
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m1"), "5": []byte("x")}, f.inner.data)
	})
	t.Run("the timer's write fails", func(t *testing.T) {
		f := newProgressFixture()
		f.batch(t, done("m1", "0"))
		f.inner.fail = 1
		require.True(t, f.timer.fire())
		assert.Equal(t, 1, f.logs.FilterMessageSnippet("kept for the next write").Len())
		assert.False(t, f.timer.armed())
		f.batch(t, done("m2", "1"))
		require.True(t, f.timer.fire())
		assert.Equal(t, map[string][]byte{queueMetadataKey: []byte("m2")}, f.inner.data)
		require.NoError(t, f.client.Close(context.Background()))
	})
	t.Run("the write at close fails", func(t *testing.T) {
		f := newProgressFixture()
		f.batch(t, done("m1", "0"))
		f.inner.fail = 1
		require.NoError(t, f.client.Close(context.Background()))
		assert.Equal(t, 1, f.inner.closes, "closed all the same")
		assert.Equal(t, 1, f.logs.FilterLevelExact(zapcore.ErrorLevel).Len())
	})
}

func TestProgressOnlyForExporters(t *testing.T) {
	ext := startExtension(t, t.TempDir())
	for kind, deferred := range map[component.Kind]bool{component.KindExporter: true, component.KindProcessor: false} {
		c, err := ext.GetClient(context.Background(), kind, csvID, "")
		require.NoError(t, err)
		_, ok := c.(*queueClient).Client.(*progressClient)
		assert.Equal(t, deferred, ok, kind.String())
		require.NoError(t, c.Close(context.Background()))
	}
}

func TestWrittenCacheBounds(t *testing.T) {
	c := newWrittenCache(10)
	c.put("a", []byte("1234"))    // 5 bytes
	c.put("b", []byte("1234"))    // 10
	c.put("c", []byte("12"))      // 13: a goes
	c.put("big", make([]byte, 8)) // larger than the cache: not kept
	_, ok := c.get("a")
	assert.False(t, ok, "oldest evicted")
	for _, k := range []string{"b", "c"} {
		_, ok := c.get(k)
		assert.True(t, ok, k)
	}
	_, ok = c.get("big")
	assert.False(t, ok)
	assert.Equal(t, 8, c.bytes)

	c.put("b", []byte("1"))    // rewritten: now the newest
	c.put("d", []byte("1234")) // 3+2+5 = 10
	c.put("e", []byte("1234")) // 15: c goes first, then b
	assert.Equal(t, []string{"d", "e"}, slices.Sorted(maps.Keys(c.entries)))

	// Entries read and rewritten over and over leave the list short.
	big := newWrittenCache(1 << 20)
	big.put("kept", []byte("x"))
	for i := range 100000 {
		k := string(rune('a' + i%3))
		big.put(k, []byte("v"))
		if i%2 == 0 {
			big.remove(k)
		}
	}
	assert.Less(t, len(big.fifo), 200, "stale slots are dropped")
}
