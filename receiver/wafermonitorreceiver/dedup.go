package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"container/list"
	"sync"
	"time"
)

// deduplicator remembers accepted idempotency keys for a window bounded by
// count and by age. Every key lives equally long, so insertion order is
// expiry order and a list suffices. (hashicorp's expirable LRU does the same
// but runs a cleanup goroutine that cannot be stopped.)
type deduplicator struct {
	mu      sync.Mutex
	maxKeys int
	window  time.Duration
	keys    map[string]*list.Element
	order   *list.List // of dedupEntry, oldest first
}

type dedupEntry struct {
	key string
	at  time.Time
}

func newDeduplicator(maxKeys int, window time.Duration) *deduplicator {
	return &deduplicator{maxKeys: maxKeys, window: window, keys: map[string]*list.Element{}, order: list.New()}
}

// seen reports whether key was accepted within the window.
func (d *deduplicator) seen(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	_, ok := d.keys[key]
	return ok
}

// accept records keys as accepted. Only keys of events the pipeline took are
// recorded, so that a retry after a refusal is not answered as a duplicate.
func (d *deduplicator) accept(keys []string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		if el, ok := d.keys[k]; ok {
			d.order.MoveToBack(el)
			el.Value = dedupEntry{key: k, at: now}
			continue
		}
		d.keys[k] = d.order.PushBack(dedupEntry{key: k, at: now})
	}
	d.expire(now)
}

func (d *deduplicator) expire(now time.Time) {
	for d.order.Len() > 0 {
		front := d.order.Front()
		e := front.Value.(dedupEntry)
		if d.order.Len() <= d.maxKeys && now.Sub(e.at) < d.window {
			return
		}
		d.order.Remove(front)
		delete(d.keys, e.key)
	}
}

func (d *deduplicator) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.order.Len()
}
