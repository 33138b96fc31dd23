package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

// element is a branch or leaf page element with its key, and for a leaf
// the value if it is a bucket's.
type element struct {
	flags uint32
	key   []byte
	value []byte // a bucket's header and inline page; nil for plain values
	child uint64 // a branch element's page
}

// elementRef is an element as the page stores it: offsets relative to the
// element itself.
type elementRef struct {
	flags, pos, ksize, vsize uint32
	child                    uint64
}

// pageElements reads a tree page's elements.
func pageElements(p *boltPage) ([]element, error) {
	if pageHeaderSize+uint64(p.count)*elementSize > p.span {
		return nil, damagedf("page %d: its %d elements do not fit in it", p.id, p.count)
	}
	refs, err := elementRefs(p.buf, p.flags, p.count, p.span, p.id)
	if err != nil {
		return nil, err
	}
	return resolve(p.buf, refs), nil
}

// elementsIn reads the elements of an inline bucket's page, b.
func elementsIn(b []byte, flags, count uint16, id uint64) ([]element, error) {
	if pageHeaderSize+uint64(count)*elementSize > uint64(len(b)) {
		return nil, damagedf("page %d: an inline bucket's %d elements do not fit in it", id, count)
	}
	refs, err := elementRefs(b, flags, count, uint64(len(b)), id)
	if err != nil {
		return nil, err
	}
	return resolve(b, refs), nil
}

// elementRefs decodes the element array at the start of page b and checks
// that every key and value lies within the page's span bytes.
func elementRefs(b []byte, flags, count uint16, span, id uint64) ([]elementRef, error) {
	refs := make([]elementRef, count)
	for i := uint64(0); i < uint64(count); i++ {
		at := pageHeaderSize + i*elementSize
		e := b[at : at+elementSize]
		r := &refs[i]
		if flags == branchPage {
			r.pos, r.ksize, r.child = native.Uint32(e), native.Uint32(e[4:]), native.Uint64(e[8:])
		} else {
			r.flags, r.pos, r.ksize, r.vsize = native.Uint32(e), native.Uint32(e[4:]), native.Uint32(e[8:]), native.Uint32(e[12:])
		}
		if end := at + uint64(r.pos) + uint64(r.ksize) + uint64(r.vsize); end > span {
			return nil, damagedf("page %d: element %d's key or value runs past the page's %d bytes", id, i, span)
		}
	}
	return refs, nil
}

func resolve(b []byte, refs []elementRef) []element {
	elems := make([]element, len(refs))
	at := uint64(pageHeaderSize)
	for i, r := range refs {
		k := at + uint64(r.pos)
		v := k + uint64(r.ksize)
		elems[i] = element{flags: r.flags, key: b[k:v:v], child: r.child}
		if r.flags&bucketLeafFlag != 0 {
			end := v + uint64(r.vsize)
			elems[i].value = b[v:end:end]
		}
		at += elementSize
	}
	return elems
}
