package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"crypto/sha256"
	"sync"
	"time"
)

// keyDigest stands for an idempotency key in the deduplicator: the first
// 16 bytes of its SHA-256. Every key then costs the same memory, however
// long the client made it, and a client cannot make another client's key
// collide with its own.
type keyDigest [16]byte

func digestOf(key string) keyDigest {
	// A key of up to 64 bytes (a UUID has 36) is copied on the stack.
	var buf [64]byte
	sum := sha256.Sum256(append(buf[:0], key...))
	return keyDigest(sum[:16])
}

// deduplicator remembers the keys of accepted events for a window bounded by
// count and by age, and the keys that requests in flight are handing to the
// pipeline right now. A key is claimed by one request at a time: concurrent
// copies of an event wait for the outcome of the first, and are duplicates
// if it was accepted, or claim the key in turn if it was refused.
//
// Accepted keys live equally long, so insertion order is expiry order and a
// queue suffices. (hashicorp's expirable LRU does the same but runs a
// cleanup goroutine that cannot be stopped, and keeps the keys themselves.)
type deduplicator struct {
	maxKeys int
	window  time.Duration

	mu       sync.Mutex
	accepted map[keyDigest]struct{}
	order    []acceptedKey // oldest first, from head
	head     int
	// claimed are the keys requests in flight hold: with nil until
	// another request waits for the key, then with the channel closed
	// when the claim is settled.
	claimed map[keyDigest]chan struct{}
}

type acceptedKey struct {
	digest keyDigest
	at     int64 // Unix nanoseconds
}

func newDeduplicator(maxKeys int, window time.Duration) *deduplicator {
	return &deduplicator{
		maxKeys:  maxKeys,
		window:   window,
		accepted: map[keyDigest]struct{}{},
		claimed:  map[keyDigest]chan struct{}{},
	}
}

// claim is what one request may do with its events' keys.
type claim struct {
	// fresh are the events whose keys the request now holds: it hands them
	// to the pipeline and settles their keys.
	fresh []event
	keys  []keyDigest
	// waiting are the events whose keys another request holds; wait is
	// closed when the claim of the first of those is settled.
	waiting []event
	wait    <-chan struct{}
	// duplicates counts the events whose key was accepted before, or
	// repeats within this request.
	duplicates int
}

// claim sorts events by the state of their keys and claims the free ones.
// The caller must settle every key in the returned claim's keys.
func (d *deduplicator) claim(events []event, now time.Time) claim {
	var few [8]keyDigest // a request of a few events digests on the stack
	digests := few[:0]
	if len(events) > len(few) {
		digests = make([]keyDigest, 0, len(events))
	}
	for i := range events {
		digests = append(digests, digestOf(events[i].IdempotencyKey))
	}
	var c claim
	c.keys = make([]keyDigest, 0, len(events))
	var inRequest map[keyDigest]struct{}
	if len(events) > 1 {
		inRequest = make(map[keyDigest]struct{}, len(events))
	}
	// While every event so far is fresh, fresh is events' own prefix: the
	// events are copied only once one of them is not.
	copied := false
	notFresh := func(i int) {
		if !copied {
			c.fresh, copied = append([]event(nil), events[:i]...), true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	for i, k := range digests {
		if _, ok := inRequest[k]; ok {
			notFresh(i)
			c.duplicates++
			continue
		}
		if inRequest != nil {
			inRequest[k] = struct{}{}
		}
		if _, ok := d.accepted[k]; ok {
			notFresh(i)
			c.duplicates++
			continue
		}
		if done, ok := d.claimed[k]; ok {
			notFresh(i)
			if c.wait == nil {
				// The channel is made by the first request that waits,
				// rather than for every claim.
				if done == nil {
					done = make(chan struct{})
					d.claimed[k] = done
				}
				c.wait = done
			}
			c.waiting = append(c.waiting, events[i])
			continue
		}
		d.claimed[k] = nil
		if copied {
			c.fresh = append(c.fresh, events[i])
		}
		c.keys = append(c.keys, k)
	}
	if !copied {
		c.fresh = events
	}
	return c
}

// settle ends the claim of keys, all the keys of a claim at once:
// remembered as accepted when the pipeline took their events, or given up
// when it refused them, so that a retry (or a waiting copy) is not taken
// for a duplicate.
func (d *deduplicator) settle(keys []keyDigest, accepted bool, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		if done := d.claimed[k]; done != nil {
			close(done)
		}
		delete(d.claimed, k)
		if !accepted {
			continue
		}
		// A key is claimed only while not accepted: it is new here.
		d.accepted[k] = struct{}{}
		d.order = append(d.order, acceptedKey{digest: k, at: now.UnixNano()})
	}
	d.expire(now)
}

func (d *deduplicator) expire(now time.Time) {
	oldest := now.Add(-d.window).UnixNano()
	for d.head < len(d.order) {
		e := d.order[d.head]
		if len(d.order)-d.head <= d.maxKeys && e.at > oldest {
			break
		}
		delete(d.accepted, e.digest)
		d.head++
	}
	// Compact once the expired prefix is as long as the live part, so the
	// queue stays within twice the live keys.
	if d.head > 0 && d.head >= len(d.order)-d.head {
		n := copy(d.order, d.order[d.head:])
		clear(d.order[n:])
		d.order = d.order[:n]
		d.head = 0
	}
}

// len returns how many accepted keys are remembered.
func (d *deduplicator) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.order) - d.head
}
