package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import "container/list"

// numBuckets is how many parts a table is split into for persistence: only
// the parts that changed since the last checkpoint are written again.
const numBuckets = 64

// bucketOf spreads keys over the buckets (FNV-1a).
func bucketOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % numBuckets)
}

type row[V any] struct {
	key    string
	bucket int
	val    V
}

// table is a map with a cap: when an insert goes past max, the entry updated
// least recently is dropped. It remembers which buckets changed since they
// were last taken for a checkpoint.
type table[V any] struct {
	max     int
	buckets [numBuckets]map[string]*list.Element
	order   list.List // front: updated most recently
	dirty   [numBuckets]bool
}

func newTable[V any](maxEntries int) *table[V] {
	t := &table[V]{max: maxEntries}
	for i := range t.buckets {
		t.buckets[i] = map[string]*list.Element{}
	}
	return t
}

func (t *table[V]) len() int { return t.order.Len() }

func (t *table[V]) get(key string) (V, bool) {
	if el, ok := t.buckets[bucketOf(key)][key]; ok {
		return el.Value.(*row[V]).val, true
	}
	var zero V
	return zero, false
}

// touch records that the entry changed: it becomes the most recent and its
// bucket is written at the next checkpoint.
func (t *table[V]) touch(key string) {
	b := bucketOf(key)
	if el, ok := t.buckets[b][key]; ok {
		t.order.MoveToFront(el)
		t.dirty[b] = true
	}
}

// put inserts or replaces an entry and returns the values it evicted to
// stay within the cap.
func (t *table[V]) put(key string, v V) []V {
	b := bucketOf(key)
	t.dirty[b] = true
	if el, ok := t.buckets[b][key]; ok {
		el.Value.(*row[V]).val = v
		t.order.MoveToFront(el)
		return nil
	}
	t.buckets[b][key] = t.order.PushFront(&row[V]{key: key, bucket: b, val: v})
	var evicted []V
	for t.order.Len() > t.max {
		oldest := t.order.Back()
		r := oldest.Value.(*row[V])
		t.order.Remove(oldest)
		delete(t.buckets[r.bucket], r.key)
		t.dirty[r.bucket] = true
		evicted = append(evicted, r.val)
	}
	return evicted
}

func (t *table[V]) remove(key string) {
	b := bucketOf(key)
	if el, ok := t.buckets[b][key]; ok {
		t.order.Remove(el)
		delete(t.buckets[b], key)
		t.dirty[b] = true
	}
}

// each calls fn for every entry, least recently updated first. fn must not
// change the table; collect keys and change it afterwards.
func (t *table[V]) each(fn func(key string, v V)) {
	for el := t.order.Back(); el != nil; el = el.Prev() {
		r := el.Value.(*row[V])
		fn(r.key, r.val)
	}
}

// takeDirty returns the changed buckets' contents and marks them clean.
func (t *table[V]) takeDirty() map[int][]V {
	out := map[int][]V{}
	for b := range t.dirty {
		if !t.dirty[b] {
			continue
		}
		t.dirty[b] = false
		vals := make([]V, 0, len(t.buckets[b]))
		for _, el := range t.buckets[b] {
			vals = append(vals, el.Value.(*row[V]).val)
		}
		out[b] = vals
	}
	return out
}

// markDirty flags buckets again, after a checkpoint of them failed.
func (t *table[V]) markDirty(buckets []int) {
	for _, b := range buckets {
		t.dirty[b] = true
	}
}

// touchDirtyOnly marks an entry's bucket changed without making the entry
// the most recent (a change the watchdog made, not a report).
func (t *table[V]) touchDirtyOnly(key string) {
	b := bucketOf(key)
	if _, ok := t.buckets[b][key]; ok {
		t.dirty[b] = true
	}
}
