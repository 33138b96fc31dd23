package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"container/list"
	"slices"
)

type row[V any] struct {
	key   string
	class int
	// hash is hashID(key): it places the entry in a snapshot chunk.
	hash uint64
	val  V
	// gone: the entry left the table (removed or evicted); a check that
	// took the row before skips it.
	gone bool
}

// evictedRow is an entry a table dropped to stay within its cap.
type evictedRow[V any] row[V]

// table is a map with a cap and eviction classes: when an insert goes past
// the cap, the entry updated least recently in the lowest class that has
// entries is dropped, so entries of a higher class go only once every lower
// one has gone. It remembers the keys that changed (inserted, updated or
// removed) since they were last taken for a checkpoint.
type table[V any] struct {
	max     int
	rows    map[string]*list.Element
	classes []list.List // per class; front: updated most recently
	// dirty holds the changed keys while track is set (state is stored).
	dirty map[string]struct{}
	track bool
}

func newTable[V any](maxEntries, classes int) *table[V] {
	return &table[V]{
		max:     maxEntries,
		rows:    map[string]*list.Element{},
		classes: make([]list.List, classes),
		dirty:   map[string]struct{}{},
	}
}

func (t *table[V]) len() int { return len(t.rows) }

func (t *table[V]) changed(key string) {
	if t.track {
		t.dirty[key] = struct{}{}
	}
}

func (t *table[V]) get(key string) (V, bool) {
	if el, ok := t.rows[key]; ok {
		return el.Value.(*row[V]).val, true
	}
	var zero V
	return zero, false
}

// classOf returns an entry's class, -1 when absent.
func (t *table[V]) classOf(key string) int {
	if el, ok := t.rows[key]; ok {
		return el.Value.(*row[V]).class
	}
	return -1
}

// touch records that the entry changed: it becomes the most recent of its
// class and is written at the next checkpoint.
func (t *table[V]) touch(key string) {
	if el, ok := t.rows[key]; ok {
		t.classes[el.Value.(*row[V]).class].MoveToFront(el)
		t.changed(key)
	}
}

// markDirty records that the entry changed without making it the most
// recent (a change the processor made itself, not a report).
func (t *table[V]) markDirty(key string) {
	if _, ok := t.rows[key]; ok {
		t.changed(key)
	}
}

// setClass moves an entry to another class, as its most recent entry.
func (t *table[V]) setClass(key string, class int) {
	el, ok := t.rows[key]
	if !ok {
		return
	}
	r := el.Value.(*row[V])
	if r.class == class {
		return
	}
	t.classes[r.class].Remove(el)
	r.class = class
	t.rows[key] = t.classes[class].PushFront(r)
	t.changed(key)
}

// put inserts or replaces an entry and returns the entries it evicted to
// stay within the cap.
func (t *table[V]) put(key string, v V, class int) []evictedRow[V] {
	t.changed(key)
	if el, ok := t.rows[key]; ok {
		el.Value.(*row[V]).val = v
		t.setClass(key, class)
		t.touch(key)
		return nil
	}
	t.rows[key] = t.classes[class].PushFront(&row[V]{key: key, class: class, hash: hashID(key), val: v})
	var evicted []evictedRow[V]
	for len(t.rows) > t.max {
		evicted = append(evicted, t.evictOne())
	}
	return evicted
}

// evictOne drops the least recent entry of the lowest class that has one.
// The table must not be empty.
func (t *table[V]) evictOne() evictedRow[V] {
	for c := range t.classes {
		if oldest := t.classes[c].Back(); oldest != nil {
			r := oldest.Value.(*row[V])
			t.classes[c].Remove(oldest)
			delete(t.rows, r.key)
			r.gone = true
			t.changed(r.key)
			return evictedRow[V](*r)
		}
	}
	panic("evictOne on an empty table")
}

func (t *table[V]) remove(key string) {
	if el, ok := t.rows[key]; ok {
		r := el.Value.(*row[V])
		t.classes[r.class].Remove(el)
		delete(t.rows, key)
		r.gone = true
		t.changed(key)
	}
}

// each calls fn for every entry, class by class, least recently updated
// first. fn must not change the table; collect keys and change it afterwards.
func (t *table[V]) each(fn func(key string, v V)) {
	for c := range t.classes {
		for el := t.classes[c].Back(); el != nil; el = el.Prev() {
			r := el.Value.(*row[V])
			fn(r.key, r.val)
		}
	}
}

// appendRows appends every entry's row to out, in the order of each. A
// row stays the entry's while it is in the table (gone once it leaves).
func (t *table[V]) appendRows(out []*row[V]) []*row[V] {
	out = slices.Grow(out, len(t.rows))
	for c := range t.classes {
		for el := t.classes[c].Back(); el != nil; el = el.Prev() {
			out = append(out, el.Value.(*row[V]))
		}
	}
	return out
}

// eachRow calls fn for every entry with its class and hash, in no
// particular order. fn must not change the table.
func (t *table[V]) eachRow(fn func(r *row[V])) {
	for _, el := range t.rows {
		fn(el.Value.(*row[V]))
	}
}

// takeDirty returns the keys that changed since the last call and forgets
// them; a key no longer in the table was removed.
func (t *table[V]) takeDirty() map[string]struct{} {
	d := t.dirty
	t.dirty = map[string]struct{}{}
	return d
}

// dirtyCount is how many keys changed since the last takeDirty.
func (t *table[V]) dirtyCount() int { return len(t.dirty) }
