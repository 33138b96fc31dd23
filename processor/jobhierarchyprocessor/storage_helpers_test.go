package jobhierarchyprocessor

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// memClient is a storage.Client over a map, with failures on demand. It
// counts the calls that write and the bytes they write.
type memClient struct {
	mu      sync.Mutex
	data    map[string][]byte
	fail    bool
	calls   int
	writes  int
	written int
}

func newMemClient() *memClient { return &memClient{data: map[string][]byte{}} }

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data[key], nil
}

func (c *memClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *memClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *memClient) Batch(_ context.Context, ops ...*storage.Operation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return errors.New("disk full")
	}
	wrote := false
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = c.data[op.Key]
		case storage.Set:
			c.data[op.Key] = op.Value
			c.written += len(op.Value)
			wrote = true
		case storage.Delete:
			delete(c.data, op.Key)
			wrote = true
		}
	}
	if wrote {
		c.writes++
	}
	return nil
}

func (*memClient) Close(context.Context) error { return nil }

// crashCopy is what a crash at this moment leaves on disk: a copy of the
// stored data, which later writes of the running processor do not change.
func (c *memClient) crashCopy() *memClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &memClient{data: maps.Clone(c.data)}
}

// keys returns the stored keys that start with prefix, sorted.
func (c *memClient) keys(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (c *memClient) stats() (writes, written int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.written
}

// memStorage is a storage extension that hands out one memClient.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	client *memClient
}

func (m memStorage) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return m.client, nil
}

// newStoredHarness is a harness whose processor keeps its state in client,
// restored at Start, at the clock's time start, as after a restart of the
// collector.
func newStoredHarness(t testing.TB, cfg *Config, client *memClient, start time.Time) *harness {
	t.Helper()
	cfg.Storage = &fileStorageID
	host := storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{fileStorageID: memStorage{client: client}}}
	return newHarnessAt(t, cfg, host, start)
}
