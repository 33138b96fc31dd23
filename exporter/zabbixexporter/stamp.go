package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"strconv"
	"time"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
)

// earliestClock: values whose time is unknown or absurd are stamped with the
// send time instead.
var earliestClock = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Zabbix keeps one value per item, clock and ns: a second value with the
// same three is dropped as a duplicate. Every value is therefore stamped
// from its event alone, never from the batch it travels in:
//
//   - the same event, sent again (a retry, a resend after a refusal, a
//     batch coming back from the persistent queue), gets the same clock
//     and ns, and Zabbix keeps it once;
//   - two events of one item in one second (old clients' whole-second
//     times, subjobs ending together, a watchdog's sweep) get different
//     ns with overwhelming probability, whatever batches carry them.
//
// The clock is the event's second. The ns keeps the event's milliseconds;
// the digits below come from a 64-bit hash of the event's identity (its
// idempotency key, or its span). A time in whole seconds, as old clients
// send, is only known to the second: all nine digits come from the hash,
// which places it at a point of that second fixed by the event. Two events
// of one item then share a (clock, ns) only if they fall in the same
// second (whole-second times) or the same millisecond (finer times) and
// their hashes agree on the 9 or 6 digits: for n such values, about
// n(n-1)/2 * 1e-9 per second with whole-second times, n(n-1)/2 * 1e-6 per
// millisecond with finer ones. Within one batch, the values of an item
// that would still collide are moved apart (nsAllocator).
const (
	nsPerSecond = int(time.Second)
	nsPerMilli  = int(time.Millisecond)
)

// stampNS is the ns of a value at at, of the event whose identity hashes to
// id.
func stampNS(at time.Time, id uint64) int {
	ns := at.Nanosecond()
	if ns == 0 {
		return int(id % uint64(nsPerSecond))
	}
	return ns - ns%nsPerMilli + int(id%uint64(nsPerMilli))
}

// eventHash hashes an event's identity: FNV-1a, then the splitmix64
// finaliser so that its low decimal digits are evenly spread. A stable
// function of the bytes (unlike hash/maphash), so that a batch read back
// from the persistent queue after a restart is stamped as before.
func eventHash(s string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// nsAllocator stamps the values of one batch, and moves apart the values of
// different events of one item that the hash put on the same clock and ns
// (to the next free ns): a batch never carries two events' values that
// Zabbix would take for one. Two copies of one event's value keep their
// common stamp.
type nsAllocator map[string]map[int]uint64

func (a nsAllocator) assign(v value, now time.Time) zabbixsender.Value {
	at := v.at
	if at.Before(earliestClock) {
		at = now
	}
	clock, ns := at.Unix(), stampNS(at, v.id)
	k := v.host + "\x00" + v.key + "\x00" + strconv.FormatInt(clock, 10)
	used := a[k]
	if used == nil {
		used = map[int]uint64{}
		a[k] = used
	}
	for {
		if by, taken := used[ns]; !taken || by == v.id {
			break
		}
		ns = (ns + 1) % nsPerSecond
	}
	used[ns] = v.id
	return zabbixsender.Value{Host: v.host, Key: v.key, Value: v.text, Clock: clock, NS: ns}
}

// stamp gives values their Zabbix timestamps.
func stamp(values []value, now time.Time) []zabbixsender.Value {
	ns := nsAllocator{}
	out := make([]zabbixsender.Value, len(values))
	for i, v := range values {
		out[i] = ns.assign(v, now)
	}
	return out
}
