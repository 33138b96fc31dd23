package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// batchFormat is the first byte of every stored part of the second format.
const batchFormat = 2

// stateBatch is one stored part of the state: a chunk of a snapshot (only
// insertions) or a journal entry (the changes of one checkpoint). Applied in
// order, the snapshot's chunks and then the journal's entries rebuild the
// state.
type stateBatch struct {
	// gen is the snapshot the part belongs to or follows; seq the journal
	// entry's number (0 in a snapshot).
	gen, seq uint64
	// writtenAt is when the processor wrote it (Unix nanoseconds): the last
	// moment it is known to have been running.
	writtenAt int64

	entities       []*openEntity
	entityClasses  []int
	removedEntity  []string
	summaries      []*jobSummary
	replaceSummary []bool
	// newIDs are the subjob hashes to add to each summary (all of them in a
	// snapshot, those counted since the last checkpoint in the journal).
	newIDs     [][]uint64
	summaryCls []int
	removedJob []string
	evicted    []evictedEntry
}

// Summary flags.
const (
	sumHasExpected = 1 << iota
	sumPassed
	sumOrphanReported
	sumKnown
	sumIncomplete
	sumReplace
)

// resourceFields are a resource's values in their stored order. A field
// added to entity.Resource is added at the end: parts written before it
// read it as empty, and a reader that does not know it skips it.
func resourceFields(r entity.Resource) []string {
	return []string{r.ServiceName, r.ServiceVersion, r.SiteID, r.AppID, r.AppIDOriginal}
}

func resourceOf(fields []string) entity.Resource {
	fields = append(fields, make([]string, max(0, 5-len(fields)))...)
	return entity.Resource{ServiceName: fields[0], ServiceVersion: fields[1], SiteID: fields[2], AppID: fields[3], AppIDOriginal: fields[4]}
}

// The extras of an entry are the fields added to it after the part's
// layout was fixed, in their stored order, written at the end of the part
// for the entries that have any: a field added later goes at the end of its
// list; parts written before read it as empty. Parts written before the
// extras existed end before them.

// entityExtras appends an open entity's ids as the client sent them to
// dst.
func entityExtras(e *openEntity, dst []string) []string {
	if e.Sent == nil {
		return append(dst, "", "")
	}
	return append(dst, e.Sent.ID, e.Sent.ParentID)
}

func setEntityExtras(e *openEntity, fields []string) {
	fields = append(fields, make([]string, max(0, 2-len(fields)))...)
	e.Sent = newSentIDs(fields[0], fields[1])
}

// summaryExtras appends a job summary's job id as the client sent it to
// dst.
func summaryExtras(s *jobSummary, dst []string) []string { return append(dst, s.JobIDOriginal) }

func setSummaryExtras(s *jobSummary, fields []string) {
	fields = append(fields, make([]string, max(0, 1-len(fields)))...)
	s.JobIDOriginal = fields[0]
}

// appendExtras writes the extras of the n entries that have any (extras
// appends entry i's to dst): their count, then each one's index and
// fields.
func appendExtras(b []byte, n int, extras func(i int, dst []string) []string) []byte {
	fields := make([]string, 0, 4)
	with := 0
	for i := range n {
		if slices.ContainsFunc(extras(i, fields[:0]), func(s string) bool { return s != "" }) {
			with++
		}
	}
	b = binary.AppendUvarint(b, uint64(with)) //nolint:gosec // a count
	for i := 0; i < n && with > 0; i++ {
		fields = extras(i, fields[:0])
		if slices.ContainsFunc(fields, func(s string) bool { return s != "" }) {
			b = binary.AppendUvarint(b, uint64(i)) //nolint:gosec // an index
			b = appendStringList(b, fields)
			with--
		}
	}
	return b
}

// extras reads what appendExtras wrote for n entries.
func (d *decoder) extras(n int, set func(i int, fields []string)) {
	for k := d.count("extras", 2); k > 0 && d.err == nil; k-- {
		i := d.uvarint("extras index")
		fields := d.strings("extras")
		if i >= uint64(n) { //nolint:gosec // n is a length
			d.fail("extras index")
			return
		}
		set(int(i), fields) //nolint:gosec // below n
	}
}

func summaryFlags(s *jobSummary, replace bool) uint64 {
	var f uint64
	set := func(bit uint64, on bool) {
		if on {
			f |= bit
		}
	}
	set(sumHasExpected, s.HasExpected)
	set(sumPassed, s.Passed)
	set(sumOrphanReported, s.OrphanReported)
	set(sumKnown, s.Known)
	set(sumIncomplete, s.Incomplete)
	set(sumReplace, replace)
	return f
}

func appendStrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func appendStringList(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	return appendStrings(b, ss...)
}

// errDamaged is what decodeBatch returns for bytes it cannot read.
var errDamaged = errors.New("damaged state part")

// decoder reads a part; the first error sticks and every later read
// returns zero values, so decoding never panics on any bytes.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errDamaged, what)
	}
	d.b = nil
}

func (d *decoder) uvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64(what string) uint64 {
	if len(d.b) < 8 {
		d.fail(what)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a number of items of at least minSize bytes each, refusing
// counts the remaining bytes cannot hold.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint(what)
	if n > uint64(len(d.b)/minSize) { //nolint:gosec // a length is not negative
		d.fail(what)
		return 0
	}
	return int(n) //nolint:gosec // at most the remaining length
}

// decodeBatch reads a part written by encodeBatch.
func decodeBatch(data []byte) (*stateBatch, error) {
	if len(data) == 0 || data[0] != batchFormat {
		return nil, fmt.Errorf("%w: unknown format", errDamaged)
	}
	d := &decoder{b: data[1:]}
	b := &stateBatch{gen: d.uvarint("gen"), seq: d.uvarint("seq"), writtenAt: d.varint("written at")}
	resources := make([]entity.Resource, d.count("resources", 1))
	for i := range resources {
		resources[i] = resourceOf(d.strings("resource"))
	}
	resource := func() entity.Resource {
		i := d.uvarint("resource")
		if i >= uint64(len(resources)) {
			d.fail("resource index")
			return entity.Resource{}
		}
		return resources[i]
	}
	for n := d.count("entities", 10); n > 0 && d.err == nil; n-- {
		flags := d.uvarint("entity flags")
		e := &openEntity{Type: semconv.EntityTypeJob, Stalled: flags&2 != 0}
		if flags&1 != 0 {
			e.Type = semconv.EntityTypeSubjob
		}
		e.ID, e.ParentID, e.BusinessKey, e.SubKey = d.str("entity id"), d.str("parent id"), d.str("business key"), d.str("sub key")
		e.Res = resource()
		e.Opened, e.LastSeen, e.Down = d.varint("opened"), d.varint("last seen"), d.varint("down")
		class := int(min(flags>>2, numEntityClasses)) //nolint:gosec // at most numEntityClasses
		if e.ID == "" || class >= numEntityClasses {
			d.fail("entity")
		}
		b.entities = append(b.entities, e)
		b.entityClasses = append(b.entityClasses, class)
	}
	b.removedEntity = d.strings("removed entities")
	for n := d.count("summaries", 20); n > 0 && d.err == nil; n-- {
		s := &jobSummary{JobID: d.str("job id"), BusinessKey: d.str("business key"), OwnOutcome: d.str("own outcome"), OwnStatus: d.str("own status")}
		s.Res = resource()
		class := d.uvarint("class")
		flags := d.uvarint("summary flags")
		s.HasExpected, s.Passed, s.OrphanReported = flags&sumHasExpected != 0, flags&sumPassed != 0, flags&sumOrphanReported != 0
		s.Known, s.Incomplete = flags&sumKnown != 0, flags&sumIncomplete != 0
		s.Created, s.Updated, s.PassedAt, s.Expected = d.varint("created"), d.varint("updated"), d.varint("passed at"), d.varint("expected")
		counts := make([]int64, 10)
		for i := range counts {
			counts[i] = int64(d.uvarint("count")) //nolint:gosec // a damaged count is a wrong number, not a crash
		}
		s.Total, s.Succeeded, s.Failed, s.Canceled, s.TimedOut, s.Other = counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
		s.Late, s.PendingLate, s.DurCount, s.Measured = counts[6], counts[7], counts[8], int(counts[9])
		floats := make([]float64, 6)
		for i := range floats {
			floats[i] = math.Float64frombits(d.u64("measurement"))
		}
		s.CPUUser, s.CPUSystem, s.MemMax, s.DurMin, s.DurMax, s.DurSum = floats[0], floats[1], floats[2], floats[3], floats[4], floats[5]
		ids := make([]uint64, d.count("subjob ids", 8))
		for i := range ids {
			ids[i] = d.u64("subjob id")
		}
		if s.JobID == "" || class >= numSummaryClasses {
			d.fail("summary")
		}
		b.summaries = append(b.summaries, s)
		b.summaryCls = append(b.summaryCls, int(min(class, numSummaryClasses))) //nolint:gosec // at most numSummaryClasses
		b.replaceSummary = append(b.replaceSummary, flags&sumReplace != 0)
		b.newIDs = append(b.newIDs, ids)
	}
	b.removedJob = d.strings("removed jobs")
	for n := d.count("evicted jobs", 9); n > 0 && d.err == nil; n-- {
		h := d.u64("evicted job")
		if len(d.b) == 0 {
			d.fail("evicted job flags")
			break
		}
		b.evicted = append(b.evicted, evictedEntry{hash: h, flags: d.b[0]})
		d.b = d.b[1:]
	}
	if d.err == nil && len(d.b) != 0 {
		d.extras(len(b.entities), func(i int, fields []string) { setEntityExtras(b.entities[i], fields) })
		d.extras(len(b.summaries), func(i int, fields []string) { setSummaryExtras(b.summaries[i], fields) })
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

func (d *decoder) strings(what string) []string {
	n := d.count(what, 1)
	out := make([]string, 0, n)
	for ; n > 0 && d.err == nil; n-- {
		out = append(out, d.str(what))
	}
	return out
}
