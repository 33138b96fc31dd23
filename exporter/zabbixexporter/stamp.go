package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"strconv"
	"time"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
)

// earliestClock: values whose time is unknown or absurd are stamped with the
// time the collector received their record, or the send time when it has
// none.
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
		return int(id % uint64(nsPerSecond)) //nolint:gosec // below 1e9
	}
	return ns - ns%nsPerMilli + int(id%uint64(nsPerMilli)) //nolint:gosec // below 1e6
}

// idHash hashes the parts of an event's identity: FNV-1a over each part
// and a zero byte after it, then the splitmix64 finaliser so that the low
// decimal digits of the sum are evenly spread. A stable function of the
// bytes (unlike hash/maphash), so that a batch read back from the
// persistent queue after a restart is stamped as before.
type idHash uint64

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func newIDHash() idHash { return fnvOffset64 }

func (h idHash) addString(s string) idHash {
	for i := 0; i < len(s); i++ {
		h ^= idHash(s[i])
		h *= fnvPrime64
	}
	return h * fnvPrime64 // the zero byte
}

func (h idHash) addBytes(b []byte) idHash {
	for _, c := range b {
		h ^= idHash(c)
		h *= fnvPrime64
	}
	return h * fnvPrime64
}

func (h idHash) sum() uint64 {
	x := uint64(h)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// eventHash hashes an identity made of parts.
func eventHash(parts ...string) uint64 {
	h := newIDHash()
	for _, p := range parts {
		h = h.addString(p)
	}
	return h.sum()
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
