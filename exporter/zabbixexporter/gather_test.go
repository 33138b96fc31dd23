package zabbixexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func heldOf(r jobType, item string, at time.Time, src string) heldValue {
	v := value{host: r.host, key: itemKey(item, &r), text: "1", at: at, row: &r, id: eventHash(src)}
	return heldValue{value: v, fp: fingerprint(v)}
}

func TestGatherSendsEveryBatchsValuesOldestFirst(t *testing.T) {
	g := newGather(100, time.Minute)
	r := jobType{host: "h", app: "a", job: "j", entityType: "job"}
	newer := heldOf(r, itemEvents, t0.Add(time.Second), "e1")
	older := heldOf(r, itemEvents, t0, "e2")
	// Two batches; the second is also retried (the same values again).
	added, overflow := g.hold(r, []heldValue{newer}, map[string]bool{})
	assert.Equal(t, 1, added)
	assert.Empty(t, overflow)
	added, _ = g.hold(r, []heldValue{older, newer}, map[string]bool{})
	assert.Equal(t, 1, added, "a value already held is not held twice")

	vals, ok := g.take(r)
	require.True(t, ok)
	require.Len(t, vals, 2)
	assert.Equal(t, []string{older.fp, newer.fp}, []string{vals[0].fp, vals[1].fp}, "oldest first")
	_, ok = g.take(r)
	assert.False(t, ok, "one sender at a time")
	// Held meanwhile: not part of the send in progress.
	late := heldOf(r, itemEvents, t0.Add(2*time.Second), "e3")
	added, _ = g.hold(r, []heldValue{late, newer}, map[string]bool{})
	assert.Equal(t, 1, added)

	assert.Zero(t, g.finish(r, vals, nil, nil, t0))
	settled, processed := g.settledAs(older.fp)
	assert.True(t, settled && processed)
	added, _ = g.hold(r, []heldValue{older}, map[string]bool{})
	assert.Zero(t, added, "settled values are not held again")
	vals, ok = g.take(r)
	require.True(t, ok)
	assert.Equal(t, []heldValue{late}, vals)

	// Refused: held again for the next send. Given up: settled, not processed.
	g.finish(r, nil, nil, vals, t0)
	vals, _ = g.take(r)
	assert.Equal(t, []heldValue{late}, vals)
	g.finish(r, nil, vals, nil, t0)
	settled, processed = g.settledAs(late.fp)
	assert.True(t, settled)
	assert.False(t, processed)

	// Marks expire; then the job type is forgotten.
	held, settledUntil := g.state(r)
	assert.False(t, held)
	assert.Equal(t, late.at, settledUntil, "the newest value settled")
	g.expire(t0.Add(time.Minute))
	settled, _ = g.settledAs(older.fp)
	assert.False(t, settled)
	_, settledUntil = g.state(r)
	assert.True(t, settledUntil.IsZero())
	assert.Empty(t, g.rows)
	assert.Zero(t, g.held)
}

func TestGatherCap(t *testing.T) {
	g := newGather(2, time.Hour)
	r := jobType{host: "h", app: "a", job: "j", entityType: "job"}
	a, b, c := heldOf(r, itemEvents, t0, "a"), heldOf(r, itemEvents, t0, "b"), heldOf(r, itemEvents, t0, "c")
	added, overflow := g.hold(r, []heldValue{a, b, c}, map[string]bool{})
	assert.Equal(t, 2, added)
	assert.Equal(t, []heldValue{c}, overflow, "beyond the cap, sent by its own batch")

	// Settling a value sent beside the held ones marks it too; the cap
	// then forgets the oldest marks.
	vals, _ := g.take(r)
	evicted := g.finish(r, append(vals, c), nil, nil, t0)
	assert.Equal(t, 1, evicted)
	settled, _ := g.settledAs(a.fp)
	assert.False(t, settled, "the oldest mark went first")
	settled, _ = g.settledAs(c.fp)
	assert.True(t, settled)
}

func TestGatherForget(t *testing.T) {
	g := newGather(10, time.Hour)
	r := jobType{host: "h", app: "a", job: "j", entityType: "job"}
	g.hold(r, []heldValue{heldOf(r, itemEvents, t0, "a")}, map[string]bool{})
	g.forget(r)
	held, _ := g.state(r)
	assert.False(t, held)
	assert.Zero(t, g.held)
	vals, ok := g.take(r)
	assert.True(t, ok)
	assert.Empty(t, vals)
}

func TestFingerprintKeepsEventsApart(t *testing.T) {
	r := jobType{host: "h", app: "a", job: "j", entityType: "subjob"}
	// Two subjobs of one job type ending at the same instant are two values.
	assert.NotEqual(t, heldOf(r, itemCompleted, t0, "w1\x00finished").fp, heldOf(r, itemCompleted, t0, "w2\x00finished").fp)
	assert.Equal(t, heldOf(r, itemCompleted, t0, "w1\x00finished").fp, heldOf(r, itemCompleted, t0, "w1\x00finished").fp)
}
