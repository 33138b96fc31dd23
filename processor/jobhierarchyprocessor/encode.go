package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"encoding/binary"
	"math"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// batchEncoder encodes parts, keeping its buffers from one to the next:
// a part is built in them and copied out once, at its size.
type batchEncoder struct {
	head, body []byte
	resIndex   map[entity.Resource]uint64
	resources  []entity.Resource
}

// encodeBatch writes a part.
func encodeBatch(b *stateBatch) []byte {
	var enc batchEncoder
	return enc.encode(b)
}

// encode writes a part. The resources of its entries are written once, in
// a table ahead of them.
func (enc *batchEncoder) encode(b *stateBatch) []byte {
	if enc.resIndex == nil {
		enc.resIndex = map[entity.Resource]uint64{}
	}
	resIndex, resources := enc.resIndex, enc.resources[:0]
	defer func() {
		clear(resIndex)
		clear(resources)
		enc.resources = resources[:0]
	}()
	resOf := func(r entity.Resource) uint64 {
		i, ok := resIndex[r]
		if !ok {
			i = uint64(len(resources))
			resIndex[r] = i
			resources = append(resources, r)
		}
		return i
	}
	body := enc.body[:0]
	defer func() { enc.body = body[:0] }()
	body = binary.AppendUvarint(body, uint64(len(b.entities)))
	for i, e := range b.entities {
		flags := uint64(b.entityClasses[i]) << 2 //nolint:gosec // a class, 0 to 2
		if e.Type == semconv.EntityTypeSubjob {
			flags |= 1
		}
		if e.Stalled {
			flags |= 2
		}
		body = binary.AppendUvarint(body, flags)
		body = appendStrings(body, e.ID, e.ParentID, e.BusinessKey, e.SubKey)
		body = binary.AppendUvarint(body, resOf(e.Res))
		body = binary.AppendVarint(body, e.Opened)
		body = binary.AppendVarint(body, e.LastSeen)
		body = binary.AppendVarint(body, e.Down)
	}
	body = appendStringList(body, b.removedEntity)
	body = binary.AppendUvarint(body, uint64(len(b.summaries)))
	for i, s := range b.summaries {
		body = appendStrings(body, s.JobID, s.BusinessKey, s.OwnOutcome, s.OwnStatus)
		body = binary.AppendUvarint(body, resOf(s.Res))
		body = binary.AppendUvarint(body, uint64(b.summaryCls[i])) //nolint:gosec // a class, 0 or 1
		body = binary.AppendUvarint(body, summaryFlags(s, b.replaceSummary[i]))
		for _, v := range []int64{s.Created, s.Updated, s.PassedAt, s.Expected} {
			body = binary.AppendVarint(body, v)
		}
		for _, v := range []int64{s.Total, s.Succeeded, s.Failed, s.Canceled, s.TimedOut, s.Other, s.Late, s.PendingLate, s.DurCount, int64(s.Measured)} {
			body = binary.AppendUvarint(body, uint64(v)) //nolint:gosec // counts are not negative; any value reads back the same
		}
		for _, f := range []float64{s.CPUUser, s.CPUSystem, s.MemMax, s.DurMin, s.DurMax, s.DurSum} {
			body = binary.LittleEndian.AppendUint64(body, math.Float64bits(f))
		}
		body = binary.AppendUvarint(body, uint64(len(b.newIDs[i])))
		for _, h := range b.newIDs[i] {
			body = binary.LittleEndian.AppendUint64(body, h)
		}
	}
	body = appendStringList(body, b.removedJob)
	body = binary.AppendUvarint(body, uint64(len(b.evicted)))
	for _, e := range b.evicted {
		body = binary.LittleEndian.AppendUint64(body, e.hash)
		body = append(body, e.flags)
	}
	body = appendExtras(body, len(b.entities), func(i int, dst []string) []string { return entityExtras(b.entities[i], dst) })
	body = appendExtras(body, len(b.summaries), func(i int, dst []string) []string { return summaryExtras(b.summaries[i], dst) })

	head := append(enc.head[:0], batchFormat)
	head = binary.AppendUvarint(head, b.gen)
	head = binary.AppendUvarint(head, b.seq)
	head = binary.AppendVarint(head, b.writtenAt)
	head = binary.AppendUvarint(head, uint64(len(resources)))
	for _, r := range resources {
		head = appendStringList(head, resourceFields(r))
	}
	enc.head = head[:0]
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head...)
	return append(out, body...)
}
