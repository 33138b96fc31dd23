package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

// writtenCache holds values a client wrote and that are on disk, so that
// reading them back costs no transaction: a persistent queue reads every
// item it wrote, most of them soon after. It is bounded in bytes; the
// oldest entries go first. A value is handed over, not copied: the queue
// marshals a new buffer for every item and drops it once written.
type writtenCache struct {
	limit   int
	bytes   int
	seq     uint64
	entries map[string]cachedValue
	// fifo lists the entries in the order they were written, with the
	// seq they were written with: a slot whose entry has since been
	// removed or rewritten is stale and skipped.
	fifo []cachedSlot
	head int
}

type cachedValue struct {
	value []byte
	seq   uint64
}

type cachedSlot struct {
	key string
	seq uint64
}

func newWrittenCache(limit int) *writtenCache {
	return &writtenCache{limit: limit, entries: map[string]cachedValue{}}
}

func (c *writtenCache) get(key string) ([]byte, bool) {
	e, ok := c.entries[key]
	return e.value, ok
}

// put notes that key holds value on disk; a value larger than the whole
// cache is not kept.
func (c *writtenCache) put(key string, value []byte) {
	c.remove(key)
	if len(key)+len(value) > c.limit {
		return
	}
	c.seq++
	c.entries[key] = cachedValue{value: value, seq: c.seq}
	c.fifo = append(c.fifo, cachedSlot{key: key, seq: c.seq})
	c.bytes += len(key) + len(value)
	for c.bytes > c.limit {
		c.evictOldest()
	}
}

func (c *writtenCache) remove(key string) {
	e, ok := c.entries[key]
	if !ok {
		return
	}
	delete(c.entries, key)
	c.bytes -= len(key) + len(e.value)
	c.trim()
}

func (c *writtenCache) evictOldest() {
	for c.head < len(c.fifo) {
		slot := c.fifo[c.head]
		c.fifo[c.head] = cachedSlot{}
		c.head++
		if e, ok := c.entries[slot.key]; ok && e.seq == slot.seq {
			delete(c.entries, slot.key)
			c.bytes -= len(slot.key) + len(e.value)
			break
		}
	}
	c.trim()
}

// trim drops the stale slots at the front, and compacts the list once
// most of it is stale, so that it stays within a small multiple of the
// entries held.
func (c *writtenCache) trim() {
	for c.head < len(c.fifo) {
		slot := c.fifo[c.head]
		if e, ok := c.entries[slot.key]; ok && e.seq == slot.seq {
			break
		}
		c.fifo[c.head] = cachedSlot{}
		c.head++
	}
	if c.head == len(c.fifo) {
		c.fifo, c.head = c.fifo[:0], 0
		return
	}
	if live := len(c.entries); len(c.fifo) > 2*live+64 {
		kept := c.fifo[:0]
		for _, slot := range c.fifo[c.head:] {
			if e, ok := c.entries[slot.key]; ok && e.seq == slot.seq {
				kept = append(kept, slot)
			}
		}
		clear(c.fifo[len(kept):])
		c.fifo, c.head = kept, 0
	}
}
