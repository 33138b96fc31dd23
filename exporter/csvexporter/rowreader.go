package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attrSource is where a row's attribute was found.
type attrSource uint8

const (
	attrNone attrSource = iota
	attrResource
	attrRecord
)

// namedSlot is an attribute that columns show, and its slot.
type namedSlot struct {
	name string
	slot int
}

// rowReader reads the cells of a row. A pcommon.Map is a list that Get
// searches from the start, so looking up each column's attribute costs
// about columns × attributes comparisons (40 × 25 for a job's span). The
// reader instead walks the record's attributes once, then the resource's,
// and finds each key among the columns' names of its length: a comparison
// or two per attribute. What Get would find is kept: the record's first
// value of a key, else the resource's first.
type rowReader struct {
	cols []column
	// slotOf is each column's attribute slot (-1 for a field).
	slotOf []int
	// byLength lists the columns' attribute names by length.
	byLength [][]namedSlot
	// values and from are the current row's attributes, one per slot.
	values []pcommon.Value
	from   []attrSource
}

func newRowReader(cols []column) *rowReader {
	rr := &rowReader{cols: cols, slotOf: make([]int, len(cols))}
	slots := map[string]int{}
	for i, c := range cols {
		rr.slotOf[i] = -1
		if c.field != nil {
			continue
		}
		s, ok := slots[c.attr]
		if !ok {
			s = len(slots)
			slots[c.attr] = s
			for len(rr.byLength) <= len(c.attr) {
				rr.byLength = append(rr.byLength, nil)
			}
			rr.byLength[len(c.attr)] = append(rr.byLength[len(c.attr)], namedSlot{name: c.attr, slot: s})
		}
		rr.slotOf[i] = s
	}
	rr.values = make([]pcommon.Value, len(slots))
	rr.from = make([]attrSource, len(slots))
	return rr
}

// load finds the record's attributes that columns show.
func (rr *rowReader) load(r *record) {
	clear(rr.from)
	for k, v := range r.attrs.All() {
		rr.put(k, v, attrRecord)
	}
	for k, v := range r.resource.All() {
		rr.put(k, v, attrResource)
	}
}

func (rr *rowReader) put(k string, v pcommon.Value, src attrSource) {
	if len(k) >= len(rr.byLength) {
		return
	}
	for _, ns := range rr.byLength[len(k)] {
		if ns.name == k {
			if rr.from[ns.slot] == attrNone {
				rr.values[ns.slot], rr.from[ns.slot] = v, src
			}
			return
		}
	}
}

// read fills an empty cell with column i of the loaded record.
func (rr *rowReader) read(r *record, i int, out *cell) {
	c := &rr.cols[i]
	if c.field != nil {
		c.field(r, out)
		return
	}
	s := rr.slotOf[i]
	switch {
	case rr.from[s] == attrNone:
	case c.numeric:
		numberCell(out, rr.values[s])
	default:
		out.kind, out.v = cellValue, rr.values[s]
	}
}

// done drops the row's values, so that no batch is held after its rows.
func (rr *rowReader) done() {
	clear(rr.values)
}
