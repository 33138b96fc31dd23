package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"bytes"
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// The exporter helper's persistent queue (v0.142.0) runs three write
// transactions per item, each a bbolt commit with its pwrites: Offer
// (the item and the queue metadata), Read (the metadata, and a Get of the
// item) and done (the metadata, and a Delete of the item). Only Offer's
// must be on disk when it returns: the other two record the queue's
// progress, and a crash that loses some of it leaves the file in a state
// the queue passed through earlier, from which it sends again the items it
// had sent since: at-least-once, as when a crash falls between an export
// and its delete.
//
// So a batch that writes nothing but Deletes and the metadata is kept in
// memory and written with the next batch that writes an item, in the same
// transaction, or at the latest progressFlushDelay after it. Every commit
// writes every change made before it, so the file always holds a state the
// queue passed through. Reads of what is pending are answered from it, and
// reads of items this client wrote from writtenCache.
const (
	// progressFlushDelay bounds how old a queue's progress not on disk
	// can be: what a crash can make it send again.
	progressFlushDelay = 100 * time.Millisecond
	// maxPendingKeys bounds the keys kept in memory before a write.
	maxPendingKeys = 10000
	// writtenCacheBytes bounds the item values kept per file.
	writtenCacheBytes = 4 << 20
)

// afterFunc runs f once after d unless stopped, like time.AfterFunc.
type afterFunc func(d time.Duration, f func()) (stop func() bool)

func realAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// pendingWrite is the last deferred write of a key: a Set of value, or a
// Delete.
type pendingWrite struct {
	value   []byte
	deleted bool
}

// progressClient defers a persistent queue's progress to its next write.
type progressClient struct {
	inner      storage.Client
	logger     *zap.Logger
	after      afterFunc
	maxPending int

	mu        sync.Mutex
	closed    bool
	pending   map[string]pendingWrite
	committed map[string]pendingWrite // the pending writes just flushed, during a batch's answers
	spare     map[string]pendingWrite
	cache     *writtenCache
	stopTimer func() bool // set while a flush is due
	// flushBuf and flushOps hold the pending writes as operations while
	// they are written (reused: the inner client keeps none after its
	// call).
	flushBuf []storage.Operation
	flushOps []*storage.Operation
}

func newProgressClient(inner storage.Client, logger *zap.Logger, after afterFunc) *progressClient {
	return &progressClient{
		inner:      inner,
		logger:     logger,
		after:      after,
		maxPending: maxPendingKeys,
		pending:    map[string]pendingWrite{},
		spare:      map[string]pendingWrite{},
		cache:      newWrittenCache(writtenCacheBytes),
	}
}

func (c *progressClient) Get(ctx context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := c.Batch(ctx, op)
	return op.Value, err
}

func (c *progressClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *progressClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *progressClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.inner.Batch(ctx, ops...)
	}
	if onlyProgress(ops) {
		return c.progress(ctx, ops)
	}
	return c.write(ctx, ops)
}

// Close writes what is pending, then closes the inner client; a failed
// write is logged and the client closed all the same.
func (c *progressClient) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		if c.stopTimer != nil {
			c.stopTimer()
			c.stopTimer = nil
		}
		if err := c.flush(ctx); err != nil {
			c.logger.Error("Could not write a persistent queue's progress when closing its file: after a restart it sends again the items it sent since its last write",
				zap.Int("pending_keys", len(c.pending)), zap.Error(err))
		}
		c.pending, c.spare, c.cache = nil, nil, nil
	}
	return c.inner.Close(ctx)
}

// onlyProgress: the batch writes nothing but Deletes and the queue
// metadata.
func onlyProgress(ops []*storage.Operation) bool {
	for _, op := range ops {
		switch op.Type {
		case storage.Get, storage.Delete:
		case storage.Set:
			if op.Key != queueMetadataKey {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// write runs a batch that writes an item in one transaction with what is
// pending. If that fails, the batch runs alone, so that its answer does not
// depend on the pending writes, which wait for the next write.
func (c *progressClient) write(ctx context.Context, ops []*storage.Operation) error {
	if len(c.pending) == 0 {
		err := c.inner.Batch(ctx, ops...)
		c.noteWritten(ops, err)
		return err
	}
	all := append(c.pendingOps(), ops...)
	err := c.inner.Batch(ctx, all...)
	c.doneOps(all)
	if err == nil {
		clear(c.pending)
		c.noteWritten(ops, nil)
		return nil
	}
	c.logger.Warn("Could not write a persistent queue's progress with its next write; it is kept for the next one",
		zap.Int("pending_keys", len(c.pending)), zap.Error(err))
	if err := c.inner.Batch(ctx, ops...); err != nil {
		c.noteWritten(ops, err)
		return err
	}
	// The batch ran on the file without what is pending: a Get of a key
	// pending answers what is pending, and a key the batch wrote is no
	// longer pending.
	for i, op := range ops {
		if op.Type == storage.Get && !writtenBefore(ops[:i], op.Key) {
			if p, ok := c.pending[op.Key]; ok {
				op.Value = p.answer()
			}
		}
	}
	for _, op := range ops {
		if op.Type != storage.Get {
			delete(c.pending, op.Key)
		}
	}
	c.noteWritten(ops, nil)
	return nil
}

// noteWritten keeps the cache in step with a batch that ran on the file
// (err == nil: the items it set are there) or failed.
func (c *progressClient) noteWritten(ops []*storage.Operation, err error) {
	for _, op := range ops {
		switch {
		case err == nil && op.Type == storage.Set && op.Key != queueMetadataKey:
			c.cache.put(op.Key, op.Value)
		default: // read, deleted, or unknown after a failure
			c.cache.remove(op.Key)
		}
	}
}

// progress defers a batch's writes and answers its Gets from them, from
// the cache, or, for the keys neither holds, in one transaction with what
// is pending.
func (c *progressClient) progress(ctx context.Context, ops []*storage.Operation) error {
	if err := c.readMissed(ctx, ops); err != nil {
		return err
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			if p, ok := c.pending[op.Key]; ok {
				op.Value = p.answer()
			} else if p, ok := c.committed[op.Key]; ok {
				op.Value = p.answer()
			} else if v, ok := c.cache.get(op.Key); ok {
				op.Value = v
			} // else read by readMissed
		case storage.Set:
			c.pending[op.Key] = pendingWrite{value: op.Value}
			c.cache.remove(op.Key)
		case storage.Delete:
			c.pending[op.Key] = pendingWrite{deleted: true}
			c.cache.remove(op.Key)
		}
	}
	for _, op := range ops {
		if op.Type == storage.Get {
			c.cache.remove(op.Key) // handed over
		}
	}
	if c.committed != nil {
		clear(c.committed)
		c.spare, c.committed = c.committed, nil
	}
	switch {
	case len(c.pending) > c.maxPending:
		if err := c.flush(ctx); err != nil {
			c.logger.Warn("Could not write a persistent queue's progress; it is kept for the next write",
				zap.Int("pending_keys", len(c.pending)), zap.Error(err))
		}
	case len(c.pending) > 0 && c.stopTimer == nil:
		c.stopTimer = c.after(progressFlushDelay, c.flushDue)
	}
	return nil
}

// readMissed reads the batch's Gets that neither the pending writes (the
// batch's own before them included) nor the cache answer: their keys are
// not pending, so the file's values are the answers. What is pending is
// written in the same transaction; if that fails, they are read alone.
func (c *progressClient) readMissed(ctx context.Context, ops []*storage.Operation) error {
	missed := 0
	for i := range ops {
		if c.missed(ops, i) {
			missed++
		}
	}
	if missed == 0 {
		return nil
	}
	reads := make([]*storage.Operation, 0, missed)
	for i, op := range ops {
		if c.missed(ops, i) {
			reads = append(reads, op)
		}
	}
	if len(c.pending) > 0 {
		all := append(reads, c.pendingOps()...)
		err := c.inner.Batch(ctx, all...)
		c.doneOps(c.flushOps)
		if err == nil {
			// Answers of Gets that were pending come from there.
			c.committed, c.pending, c.spare = c.pending, c.spare, nil
			return nil
		}
		c.logger.Warn("Could not write a persistent queue's progress with a read; it is kept for the next write",
			zap.Int("pending_keys", len(c.pending)), zap.Error(err))
	}
	return c.inner.Batch(ctx, reads...)
}

func (c *progressClient) missed(ops []*storage.Operation, i int) bool {
	op := ops[i]
	if op.Type != storage.Get || writtenBefore(ops[:i], op.Key) {
		return false
	}
	if _, ok := c.pending[op.Key]; ok {
		return false
	}
	_, ok := c.cache.get(op.Key)
	return !ok
}

func writtenBefore(ops []*storage.Operation, key string) bool {
	for _, op := range ops {
		if op.Type != storage.Get && op.Key == key {
			return true
		}
	}
	return false
}

// flushDue writes what is pending once progressFlushDelay has passed.
func (c *progressClient) flushDue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.stopTimer = nil
	if err := c.flush(context.Background()); err != nil {
		c.logger.Warn("Could not write a persistent queue's progress; it is kept for the next write",
			zap.Int("pending_keys", len(c.pending)), zap.Error(err))
	}
}

// flush writes what is pending in one transaction.
func (c *progressClient) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	ops := c.pendingOps()
	err := c.inner.Batch(ctx, ops...)
	c.doneOps(ops)
	if err == nil {
		clear(c.pending)
	}
	return err
}

// pendingOps are the pending writes as operations. Writes of different
// keys commute, so their order does not matter.
func (c *progressClient) pendingOps() []*storage.Operation {
	buf := c.flushBuf[:0]
	for key, p := range c.pending {
		op := storage.Operation{Key: key, Type: storage.Delete}
		if !p.deleted {
			op.Type, op.Value = storage.Set, p.value
		}
		buf = append(buf, op)
	}
	ops := c.flushOps[:0]
	for i := range buf {
		ops = append(ops, &buf[i])
	}
	c.flushBuf, c.flushOps = buf, ops
	return ops
}

// doneOps forgets the operations of a flush (and the caller's appended to
// them), keeping the buffers.
func (c *progressClient) doneOps(ops []*storage.Operation) {
	clear(ops)
	clear(c.flushBuf)
	c.flushBuf, c.flushOps = c.flushBuf[:0], ops[:0]
}

// answer is what a Get of the key returns: a copy, as the inner client's.
func (p pendingWrite) answer() []byte {
	if p.deleted {
		return nil
	}
	return bytes.Clone(p.value)
}
