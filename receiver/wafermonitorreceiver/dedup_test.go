package wafermonitorreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// gatedLogs holds every ConsumeLogs call until the test opens the gate,
// and refuses the first refuseFirst calls.
type gatedLogs struct {
	consumertest.LogsSink
	gate        chan struct{}
	calls       atomic.Int64
	refuseFirst int64
}

func (g *gatedLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (g *gatedLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := g.calls.Add(1)
	<-g.gate
	if n <= g.refuseFirst {
		return errors.New("sending queue is full")
	}
	return g.LogsSink.ConsumeLogs(ctx, ld)
}

// TestConcurrentCopiesOfOneKey: six identical requests at once. One copy is
// handed to the pipeline; the others wait for its outcome and are answered
// as duplicates when it was accepted, or one of them goes through when it
// was refused (a refused copy never makes a retry a duplicate).
func TestConcurrentCopiesOfOneKey(t *testing.T) {
	for _, tc := range []struct {
		name        string
		refuseFirst int64
		want        map[string]int // answers by shape
	}{
		{"first copy accepted", 0, map[string]int{"200 accepted": 1, "200 duplicate": 5}},
		{"first copy refused", 1, map[string]int{"503": 1, "200 accepted": 1, "200 duplicate": 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &gatedLogs{gate: make(chan struct{}), refuseFirst: tc.refuseFirst}
			ts := startServer(t, serverOptions{logs: sink, onlyLogs: true})
			body := readSample(t, "python-started.json")
			var answers []<-chan answer
			for range 6 {
				answers = append(answers, ts.postAsync(t, "/v1/event", body))
			}
			waitCondition(t, "one copy in the pipeline and five waiting for it", func() bool {
				return sink.calls.Load() == 1 && ts.recv.admission.waiting.Load() == 5
			})
			close(sink.gate)
			got := map[string]int{}
			for _, ch := range answers {
				a := <-ch
				switch {
				case a.code == http.StatusOK && a.body["accepted"] == 1.0:
					got["200 accepted"]++
				case a.code == http.StatusOK && a.body["duplicates"] == 1.0:
					got["200 duplicate"]++
				default:
					got[fmt.Sprint(a.code)]++
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, 1, sink.LogRecordCount(), "one copy reached the pipeline")
			requireBudgetFree(t, ts.recv.admission)
		})
	}
}

// TestBatchesSharingKeysDoNotDeadlock: two batches that each hold a key the
// other carries never wait on each other while holding their own.
func TestBatchesSharingKeysDoNotDeadlock(t *testing.T) {
	sink := &gatedLogs{gate: make(chan struct{})}
	ts := startServer(t, serverOptions{logs: sink, onlyLogs: true})
	a, b := string(uniqueEvent(t, 1)), string(uniqueEvent(t, 2))
	first := ts.postAsync(t, "/v1/ingest/batch", []byte("["+a+","+b+"]"))
	waitCondition(t, "the first batch in the pipeline", func() bool { return sink.calls.Load() == 1 })
	second := ts.postAsync(t, "/v1/ingest/batch", []byte("["+b+","+a+"]"))
	waitCondition(t, "the second batch waiting", func() bool { return ts.recv.admission.waiting.Load() == 1 })
	close(sink.gate)
	assert.Equal(t, map[string]any{"ok": true, "total": 2.0, "accepted": 2.0, "duplicates": 0.0, "spooled": 2.0}, (<-first).body)
	assert.Equal(t, map[string]any{"ok": true, "total": 2.0, "accepted": 0.0, "duplicates": 2.0, "spooled": 0.0}, (<-second).body)
	assert.Equal(t, 2, sink.LogRecordCount())
}

func TestClaimAndSettle(t *testing.T) {
	d := newDeduplicator(100, time.Hour)
	now := time.Unix(1000, 0)
	first := d.claim(eventsWithKeys("a", "b", "a"), now)
	assert.Equal(t, []string{"a", "b"}, keysOf(first.fresh))
	assert.Equal(t, 1, first.duplicates, "a key repeated within a request")

	second := d.claim(eventsWithKeys("b", "c"), now)
	assert.Equal(t, []string{"c"}, keysOf(second.fresh), "c is free")
	require.Len(t, second.waiting, 1, "b is claimed by the first request")
	select {
	case <-second.wait:
		t.Fatal("the wait ended before the claim was settled")
	default:
	}
	another := d.claim(eventsWithKeys("b"), now)
	require.Len(t, another.waiting, 1)
	assert.Equal(t, second.wait, another.wait, "the waiters of one key share its channel")
	d.settle(another.keys, true, now)
	d.settle(second.keys, true, now)
	d.settle(first.keys, false, now) // the pipeline refused a and b
	<-second.wait
	<-another.wait
	third := d.claim(second.waiting, now)
	assert.Len(t, third.fresh, 1, "a refused key is free again")
	d.settle(third.keys, true, now)
	assert.Equal(t, 2, d.len(), "b and c accepted")
	last := d.claim(eventsWithKeys("a", "b", "c"), now)
	assert.Equal(t, 2, last.duplicates, "b and c")
	assert.Equal(t, []string{"a"}, keysOf(last.fresh), "a was never accepted")
	all := d.claim(eventsWithKeys("d", "e", "f"), now)
	assert.Equal(t, []string{"d", "e", "f"}, keysOf(all.fresh))
	assert.Len(t, all.keys, 3)
	// Keys of two claims settled together: each key's channel, made or
	// not, is closed once at most.
	d.settle(append(append([]keyDigest(nil), all.keys...), last.keys...), true, now)
	assert.Equal(t, 6, d.len(), "a, b, c, d, e and f accepted")
}

func keysOf(events []event) []string {
	var keys []string
	for _, e := range events {
		keys = append(keys, e.IdempotencyKey)
	}
	return keys
}

// TestDeduplicatorBoundedByBytes: a key costs the same whatever its length,
// so 410 keys of 1 MB take no more than 410 short ones, and 100,000 keys
// (the default max_keys) stay within a few MiB.
func TestDeduplicatorBoundedByBytes(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	d := newDeduplicator(defaultDedupMaxKeys, time.Hour)
	now := time.Unix(1000, 0)
	before := heap()
	prefix := strings.Repeat("k", 1<<20)
	for i := range 410 {
		c := d.claim(eventsWithKeys(fmt.Sprintf("%s-%d", prefix, i)), now)
		d.settle(c.keys, true, now)
	}
	bigKeys := int64(heap()) - int64(before)
	t.Logf("410 keys of 1 MiB: %d bytes held", bigKeys)
	assert.Less(t, bigKeys, int64(1<<20), "1 MiB keys are not kept")

	before = heap()
	for i := range defaultDedupMaxKeys {
		c := d.claim(eventsWithKeys(fmt.Sprintf("key-%d", i)), now)
		d.settle(c.keys, true, now)
	}
	perKey := float64(int64(heap())-int64(before)) / defaultDedupMaxKeys
	t.Logf("%d keys: %.0f bytes per key", defaultDedupMaxKeys, perKey)
	assert.Less(t, perKey, 128.0)
	assert.Equal(t, defaultDedupMaxKeys, d.len())
	runtime.KeepAlive(d)
}

// TestDeduplicatorConcurrentClaims: many goroutines claim overlapping keys;
// each key is held by one at a time and accepted exactly once.
func TestDeduplicatorConcurrentClaims(t *testing.T) {
	d := newDeduplicator(1000, time.Hour)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	accepted := map[string]int{}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := eventsWithKeys("a", "b", "c", fmt.Sprint(g%4))
			for len(events) > 0 {
				c := d.claim(events, now)
				mu.Lock()
				for _, e := range c.fresh {
					accepted[e.IdempotencyKey]++
				}
				mu.Unlock()
				d.settle(c.keys, true, now)
				if len(c.waiting) > 0 {
					<-c.wait
				}
				events = c.waiting
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1, "0": 1, "1": 1, "2": 1, "3": 1}, accepted)
}
