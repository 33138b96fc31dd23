package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
)

// verifyBolt reads a bbolt file (format version 2, go.etcd.io/bbolt v1.4)
// with bounds checks and tells whether bbolt can open and use it: every
// page that bbolt reaches from the meta page it would choose lies inside
// the file, is of the right type, says it is the page it was looked up as,
// is referenced once, and holds elements, keys and values inside itself, in
// the key order bbolt's own consistency check wants.
//
// bbolt itself cannot be asked: opening a damaged file panics in a goroutine
// of its own (the free page scan at open) or faults on memory mapped past
// the end of the file, and neither can be recovered. bbolt's tx.Check has
// the same hazards.
//
// data is the whole file. It returns a *damagedError for a file bbolt
// must not open, nil for a sound one.
func verifyBolt(data []byte) error {
	size := uint64(len(data))
	pageSize, err := boltPageSize(data)
	if err != nil {
		return err
	}
	if size < 2*pageSize {
		return damagedf("the file is %d bytes, less than its two meta pages of %d bytes", size, pageSize)
	}
	var m [2]boltMeta
	for i, at := range [2]uint64{0, pageSize} {
		m[i] = parseMeta(data[at+pageHeaderSize:])
	}
	if m[0].problem != nil && m[1].problem != nil {
		return damagedf("both meta pages are invalid: %v; %v", m[0].problem, m[1].problem)
	}
	// bbolt uses the meta page of the latest transaction unless it is
	// invalid (DB.meta).
	meta := m[0]
	if m[1].txid > m[0].txid && m[1].problem == nil || m[0].problem != nil {
		meta = m[1]
	}
	hwm := meta.pgid
	if hwm > size/pageSize {
		return damagedf("the file is %d bytes but its meta page (transaction %d) counts %d pages of %d bytes: it was cut short",
			size, meta.txid, hwm, pageSize)
	}
	if meta.root < 2 || meta.root >= hwm {
		return damagedf("the root page %d is outside the file's pages 2 to %d", meta.root, hwm-1)
	}
	if meta.freelist != noFreelist && (meta.freelist < 2 || meta.freelist >= hwm) {
		return damagedf("the freelist page %d is outside the file's pages 2 to %d", meta.freelist, hwm-1)
	}
	w := &boltWalker{data: data, pageSize: pageSize, hwm: hwm, used: newBitset(hwm), free: newBitset(hwm)}
	if meta.freelist != noFreelist {
		if err := w.freelist(meta.freelist); err != nil {
			return err
		}
	}
	_, _, err = w.tree(meta.root, nil, nil, 0, true)
	return err
}

// bbolt's file format.
const (
	pageHeaderSize   = 16 // id uint64, flags uint16, count uint16, overflow uint32
	elementSize      = 16 // a branch or leaf page element
	bucketHeaderSize = 16 // root page id uint64, sequence uint64
	metaSize         = 64
	metaChecksummed  = 56 // the meta's bytes before its checksum
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	branchPage       = 0x01
	leafPage         = 0x02
	metaPage         = 0x04
	freelistPage     = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	// bbolt looks for the second meta page up to 16 MiB into the file.
	minPageSize = 1024
	maxPageSize = 1 << 24
	// Far deeper than any tree bbolt builds (a billion keys make about
	// five levels), shallow enough for any stack.
	maxDepth = 64
)

var native = binary.NativeEndian // bbolt writes its files in the machine's byte order

type boltMeta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
	problem                    error
}

func parseMeta(b []byte) boltMeta {
	m := boltMeta{
		pageSize: native.Uint32(b[8:]),
		root:     native.Uint64(b[16:]),
		freelist: native.Uint64(b[32:]),
		pgid:     native.Uint64(b[40:]),
		txid:     native.Uint64(b[48:]),
	}
	h := fnv.New64a()
	_, _ = h.Write(b[:metaChecksummed])
	switch {
	case native.Uint32(b) != boltMagic:
		m.problem = errors.New("not a bbolt meta page (magic number)")
	case native.Uint32(b[4:]) != boltVersion:
		m.problem = fmt.Errorf("bbolt file format version %d, not %d", native.Uint32(b[4:]), boltVersion)
	case native.Uint64(b[metaChecksummed:]) != h.Sum64():
		m.problem = errors.New("meta page checksum mismatch")
	}
	return m
}

// boltPageSize finds the page size the way bbolt does (DB.getPageSize):
// from the first meta page, else from a second one at 1 KiB, 2 KiB, … 16 MiB.
func boltPageSize(data []byte) (uint64, error) {
	size := uint64(len(data))
	candidates := []uint64{0}
	for i := 0; i <= 14; i++ {
		if pos := uint64(minPageSize) << i; pos+minPageSize < size {
			candidates = append(candidates, pos)
		}
	}
	for _, pos := range candidates {
		// bbolt reads 4 KiB, and wants them whole for the first page.
		end := min(pos+4096, size)
		if end-pos < pageHeaderSize+metaSize || pos == 0 && end-pos < 4096 {
			continue
		}
		if m := parseMeta(data[pos+pageHeaderSize : end]); m.problem == nil {
			ps := uint64(m.pageSize)
			if ps < minPageSize || ps > maxPageSize {
				return 0, damagedf("its meta page gives a page size of %d bytes", ps)
			}
			return ps, nil
		}
	}
	return 0, damagedf("no valid bbolt meta page in its %d bytes", size)
}

// boltWalker visits every page bbolt can reach.
type boltWalker struct {
	data       []byte
	pageSize   uint64
	hwm        uint64
	used, free bitset
}

// boltPage is a page of the file: its header, and its bytes, overflow
// pages included.
type boltPage struct {
	id           uint64
	flags, count uint16
	span         uint64
	buf          []byte
}

// page returns page id after checking that bbolt may read it: inside the
// pages in use, named id in its header, not reached before.
func (w *boltWalker) page(id uint64) (*boltPage, error) {
	if id < 2 || id >= w.hwm {
		return nil, damagedf("page %d is referenced but lies outside the file's pages 2 to %d", id, w.hwm-1)
	}
	ps := w.pageSize
	hdr := w.data[id*ps:]
	if self := native.Uint64(hdr); self != id {
		return nil, damagedf("page %d identifies itself as page %d", id, self)
	}
	p := &boltPage{id: id, flags: native.Uint16(hdr[8:]), count: native.Uint16(hdr[10:])}
	overflow := uint64(native.Uint32(hdr[12:]))
	if id+overflow >= w.hwm {
		return nil, damagedf("page %d and its %d overflow pages run past the file's %d pages", id, overflow, w.hwm)
	}
	p.span = (overflow + 1) * ps
	p.buf = w.data[id*ps : id*ps+p.span]
	for i := id; i <= id+overflow; i++ {
		switch {
		case w.used.has(i):
			return nil, damagedf("page %d is referenced twice", i)
		case w.free.has(i):
			return nil, damagedf("page %d is both in use and in the freelist", i)
		}
		w.used.set(i)
	}
	return p, nil
}

// bytes returns the page's first n bytes.
func (p *boltPage) bytes(n uint64) ([]byte, error) {
	if n > p.span {
		return nil, damagedf("page %d: %d bytes needed of its %d", p.id, n, p.span)
	}
	return p.buf[:n], nil
}

// freelist marks the pages of a synced freelist free.
func (w *boltWalker) freelist(id uint64) error {
	p, err := w.page(id)
	if err != nil {
		return err
	}
	if p.flags != freelistPage {
		return damagedf("the freelist page %d is a %s page", id, pageType(p.flags))
	}
	first, count := uint64(0), uint64(p.count)
	if count == 0xFFFF { // the count is in the first element
		b, err := p.bytes(pageHeaderSize + 8)
		if err != nil {
			return err
		}
		first, count = 1, native.Uint64(b[pageHeaderSize:])
	}
	if count > (p.span-pageHeaderSize)/8-first {
		return damagedf("the freelist page %d lists %d pages, more than it holds", id, count)
	}
	b, err := p.bytes(pageHeaderSize + (first+count)*8)
	if err != nil {
		return err
	}
	for i := first; i < first+count; i++ {
		free := native.Uint64(b[pageHeaderSize+i*8:])
		switch {
		case free < 2 || free >= w.hwm:
			return damagedf("the freelist lists page %d, outside the file's pages 2 to %d", free, w.hwm-1)
		case w.free.has(free):
			return damagedf("the freelist lists page %d twice", free)
		case w.used.has(free):
			return damagedf("the freelist lists its own page %d", free)
		}
		w.free.set(free)
	}
	return nil
}

// tree checks the pages of one bucket's tree below page id, whose keys must
// lie in [minKey, maxKey) (nil: unbounded), and returns its first and last
// keys. onlyBuckets is for the root bucket's tree (see leaf).
func (w *boltWalker) tree(id uint64, minKey, maxKey []byte, depth int, onlyBuckets bool) (first, last []byte, err error) {
	if depth > maxDepth {
		return nil, nil, damagedf("page %d: pages and buckets nest more than %d deep", id, maxDepth)
	}
	p, err := w.page(id)
	if err != nil {
		return nil, nil, err
	}
	if p.flags != branchPage && p.flags != leafPage {
		return nil, nil, damagedf("page %d in a bucket's tree is a %s page", id, pageType(p.flags))
	}
	if p.flags == branchPage && p.count == 0 {
		return nil, nil, damagedf("branch page %d has no elements", id)
	}
	elems, err := pageElements(p)
	if err != nil {
		return nil, nil, err
	}
	if p.flags == leafPage {
		return w.leaf(id, elems, minKey, maxKey, depth, onlyBuckets)
	}
	running := minKey
	for i, e := range elems {
		if err := checkKeyOrder(id, i, e.key, running, maxKey); err != nil {
			return nil, nil, err
		}
		next := maxKey
		if i+1 < len(elems) {
			next = elems[i+1].key
		}
		childFirst, childLast, err := w.tree(e.child, e.key, next, depth+1, onlyBuckets)
		if err != nil {
			return nil, nil, err
		}
		// bbolt finds a child by the key that leads to it (node.key): a
		// child that does not start with it is never unlinked when it is
		// emptied, and its freed page stays in the tree.
		if childFirst == nil || !bytes.Equal(childFirst, e.key) {
			return nil, nil, damagedf("page %d: element %d leads to page %d by key %x, but that page starts with %x",
				id, i, e.child, e.key, childFirst)
		}
		if i == 0 {
			first = childFirst
		}
		running, last = childLast, childLast
	}
	return first, last, nil
}

// leaf checks a leaf's key order and the buckets it holds; onlyBuckets
// for the root bucket's leaves (a value there is where contrib's client
// wants its bucket, and bbolt cannot write one).
func (w *boltWalker) leaf(id uint64, elems []element, minKey, maxKey []byte, depth int, onlyBuckets bool) (first, last []byte, err error) {
	running := minKey
	for i, e := range elems {
		if err := checkKeyOrder(id, i, e.key, running, maxKey); err != nil {
			return nil, nil, err
		}
		running = e.key
		if onlyBuckets && e.flags&bucketLeafFlag == 0 {
			return nil, nil, damagedf("page %d: the root bucket holds a value under %q, not a bucket", id, e.key)
		}
		if e.flags&bucketLeafFlag != 0 {
			if err := w.bucket(id, e, depth+1); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(elems) == 0 {
		return nil, nil, nil
	}
	return elems[0].key, running, nil
}

// bucket checks a bucket held in a leaf element: a tree of its own, or a
// page inline in the value.
func (w *boltWalker) bucket(leafID uint64, e element, depth int) error {
	if len(e.value) < bucketHeaderSize {
		return damagedf("page %d: bucket %q has a value of %d bytes, less than a bucket header", leafID, e.key, len(e.value))
	}
	if root := native.Uint64(e.value); root != 0 {
		_, _, err := w.tree(root, nil, nil, depth, false)
		return err
	}
	inline := e.value[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		return damagedf("page %d: inline bucket %q is too short for a page", leafID, e.key)
	}
	if flags := native.Uint16(inline[8:]); flags != leafPage {
		return damagedf("page %d: inline bucket %q is a %s page", leafID, e.key, pageType(flags))
	}
	// bbolt writes an inline page with id 0 and no overflow, and frees
	// the page an inline bucket names when it changes it.
	if id, overflow := native.Uint64(inline), native.Uint32(inline[12:]); id != 0 || overflow != 0 {
		return damagedf("page %d: inline bucket %q names page %d with %d overflow pages, not 0 and 0", leafID, e.key, id, overflow)
	}
	elems, err := elementsIn(inline, leafPage, native.Uint16(inline[10:]), leafID)
	if err != nil {
		return err
	}
	_, _, err = w.leaf(leafID, elems, nil, nil, depth, false)
	return err
}

// checkKeyOrder is bbolt's verifyKeyOrder: keys ascend strictly within a
// page, the first is not below the key that leads to the page, and all are
// below the next one at the level above. An empty key is damage too: bbolt
// never writes one, and panics reading such a page to change it.
func checkKeyOrder(id uint64, i int, key, prev, maxKey []byte) error {
	if len(key) == 0 {
		return damagedf("page %d: key %d is empty", id, i)
	}
	if i == 0 && prev != nil && bytes.Compare(prev, key) > 0 {
		return damagedf("page %d: its first key %x is below the key %x that leads to it", id, key, prev)
	}
	if i > 0 && bytes.Compare(prev, key) >= 0 {
		return damagedf("page %d: key %d (%x) does not follow %x", id, i, key, prev)
	}
	if maxKey != nil && bytes.Compare(key, maxKey) >= 0 {
		return damagedf("page %d: key %d (%x) is not below %x, the next key at the level above", id, i, key, maxKey)
	}
	return nil
}

func pageType(flags uint16) string {
	switch flags {
	case branchPage:
		return "branch"
	case leafPage:
		return "leaf"
	case metaPage:
		return "meta"
	case freelistPage:
		return "freelist"
	}
	return fmt.Sprintf("unknown (flags %#x)", flags)
}

type bitset []uint64

func newBitset(n uint64) bitset    { return make(bitset, n/64+1) }
func (b bitset) has(i uint64) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i uint64)      { b[i/64] |= 1 << (i % 64) }
