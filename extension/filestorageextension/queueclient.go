package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"google.golang.org/protobuf/encoding/protowire"
)

// The exporter helper's persistent queue (exporterhelper v0.142.0,
// internal/queue/persistent_queue.go) keeps its metadata under this key as
// a PersistentMetadata message (meta.proto), rewritten in the same storage
// operation as every change of the queue. Field 1, sfixed64 items_size, is
// how many items (log records, spans, data points) the queue holds, those
// being exported included. TestQueuesFollowTheExporterHelper breaks when
// that changes.
const (
	queueMetadataKey       = "qmv0"
	queueMetadataItemsSize = 1
)

// trackedFile is a client handed out, and what the queue in it holds if it
// is a persistent sending queue's.
type trackedFile struct {
	owner   component.ID
	kind    component.Kind
	name    string
	path    string
	isQueue atomic.Bool
	items   atomic.Int64
	removed atomic.Int64 // items that left the queue since start
	access  fileAccess
}

// init reads the queue metadata stored when the queue last ran.
func (f *trackedFile) init(ctx context.Context, client storage.Client) {
	if v, err := client.Get(ctx, queueMetadataKey); err == nil && v != nil {
		f.observe(v)
	}
}

func (f *trackedFile) observe(metadata []byte) {
	if items, err := queueItems(metadata); err == nil {
		f.setItems(items)
		f.isQueue.Store(true)
	}
}

// setItems notes the queue's new item count; a decrease is items that left
// the queue (exported, or dropped by the exporter).
func (f *trackedFile) setItems(items int64) {
	if prev := f.items.Swap(items); items < prev {
		f.removed.Add(prev - items)
	}
}

// queueItems decodes items_size from a PersistentMetadata message; absent
// means 0, as in proto3.
func queueItems(b []byte) (int64, error) {
	var items int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == queueMetadataItemsSize && typ == protowire.Fixed64Type {
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			items, b = int64(v), b[n:] //nolint:gosec // sfixed64: the bits are the signed value
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if items < 0 {
		return 0, errors.New("negative items_size")
	}
	return items, nil
}

// queueClient is contrib's client; it notes the queue metadata written
// through it.
type queueClient struct {
	storage.Client
	file *trackedFile
}

func (c *queueClient) Set(ctx context.Context, key string, value []byte) error {
	err := c.Client.Set(ctx, key, value)
	if err == nil && key == queueMetadataKey {
		c.file.observe(value)
	}
	return err
}

func (c *queueClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	err := c.Client.Batch(ctx, ops...)
	if err != nil {
		return err
	}
	// The last write of the key in the batch is what is stored.
	for i := len(ops) - 1; i >= 0; i-- {
		if op := ops[i]; op.Key == queueMetadataKey && op.Type != storage.Get {
			if op.Type == storage.Set {
				c.file.observe(op.Value)
			} else {
				c.file.setItems(0)
			}
			break
		}
	}
	return nil
}

func (c *queueClient) Delete(ctx context.Context, key string) error {
	err := c.Client.Delete(ctx, key)
	if err == nil && key == queueMetadataKey {
		c.file.setItems(0)
	}
	return err
}
