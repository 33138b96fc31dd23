package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"cmp"
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
	// seq orders the rows of a class as the table's list does: it grows
	// each time a row becomes the most recent of its class.
	seq uint64
	due dueLinks[V]
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
	// due files the entries by the time they can next fall due; nil
	// when the check has nothing to look for in the table.
	due *dueIndex[V]
	// onRemove, when set, is called with the key of an entry that left the
	// table.
	onRemove func(key string)
	seq      uint64
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

// pushFront makes r the most recent entry of its class.
func (t *table[V]) pushFront(r *row[V]) *list.Element {
	t.renew(r)
	return t.classes[r.class].PushFront(r)
}

// renew numbers r as the most recent row (row.seq).
func (t *table[V]) renew(r *row[V]) {
	t.seq++
	r.seq = t.seq
}

// refile files an entry again after a change that may make it due
// earlier (see due.go).
func (t *table[V]) refile(r *row[V]) {
	if t.due != nil && !r.gone {
		t.due.file(r)
	}
}

// refileKey files the entry of key again, if the table holds it.
func (t *table[V]) refileKey(key string) {
	if el, ok := t.rows[key]; ok {
		t.refile(el.Value.(*row[V]))
	}
}

// left accounts for an entry that left the table.
func (t *table[V]) left(r *row[V]) {
	r.gone = true
	t.changed(r.key)
	if t.due != nil {
		t.due.unfile(r)
	}
	if t.onRemove != nil {
		t.onRemove(r.key)
	}
}

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
		r := el.Value.(*row[V])
		t.classes[r.class].MoveToFront(el)
		t.renew(r)
		t.changed(key)
		t.refile(r)
	}
}

// markDirty records that the entry changed without making it the most
// recent (a change the processor made itself, not a report).
func (t *table[V]) markDirty(key string) {
	if el, ok := t.rows[key]; ok {
		t.changed(key)
		t.refile(el.Value.(*row[V]))
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
	t.rows[key] = t.pushFront(r)
	t.changed(key)
	t.refile(r)
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
	r := &row[V]{key: key, class: class, hash: hashID(key), val: v, due: dueLinks[V]{bucket: notDue}}
	t.rows[key] = t.pushFront(r)
	t.refile(r)
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
			t.left(r)
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
		t.left(r)
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

// takeDue takes the rows of the entries that may be due at now (Unix
// nanoseconds) out of the due index and appends them to out in the order
// of each. The caller files each again once it has looked at it.
func (t *table[V]) takeDue(now int64, out []*row[V]) []*row[V] {
	if t.due == nil {
		return out
	}
	first := len(out)
	out = t.due.take(now, out)
	slices.SortFunc(out[first:], func(a, b *row[V]) int {
		if a.class != b.class {
			return cmp.Compare(a.class, b.class)
		}
		return cmp.Compare(a.seq, b.seq)
	})
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
