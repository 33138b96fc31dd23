package zabbixexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/trappertest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func TestStampNS(t *testing.T) {
	a, b := eventHash("key", "a"), eventHash("key", "b")
	tests := []struct {
		name string
		at   time.Time
		// keep is the part of the event's ns that must be kept.
		keep int
		// spread is the range the other digits come from.
		spread int
	}{
		{"whole second: all nine digits from the event", t0, 0, nsPerSecond},
		{"milliseconds are kept", t0.Add(250 * time.Millisecond), 250 * nsPerMilli, nsPerMilli},
		{"finer times keep their milliseconds", t0.Add(250*time.Millisecond + 123456), 250 * nsPerMilli, nsPerMilli},
		{"the last nanosecond of a second", t0.Add(time.Second - 1), 999 * nsPerMilli, nsPerMilli},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na, nb := stampNS(tt.at, a), stampNS(tt.at, b)
			assert.Equal(t, na, stampNS(tt.at, a), "the same event, the same ns")
			assert.NotEqual(t, na, nb, "two events, two ns")
			for _, ns := range []int{na, nb} {
				assert.GreaterOrEqual(t, ns, tt.keep)
				assert.Less(t, ns, tt.keep+tt.spread)
			}
		})
	}
}

// The hash spreads events evenly over the digits it fills: the number of
// events sharing an ns is what chance predicts (n(n-1)/2 pairs over the
// range), so the README's figures hold.
func TestStampSpread(t *testing.T) {
	collisions := func(n int, at time.Time) int {
		seen := map[int]int{}
		pairs := 0
		for i := 0; i < n; i++ {
			ns := stampNS(at, eventHash("key", fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i)))
			pairs += seen[ns]
			seen[ns]++
		}
		return pairs
	}
	tests := []struct {
		name     string
		n        int
		at       time.Time
		expected float64 // pairs sharing an ns, on average
		max      int
	}{
		{"1,000 whole-second events", 1000, t0, 1000 * 999 / 2 / 1e9, 0},
		{"100,000 whole-second events", 100000, t0, 100000 * 99999 / 2 / 1e9, 20},
		{"1,000 events at one instant", 1000, t0.Add(123456789), 1000 * 999 / 2 / 1e6, 5},
		{"20,000 events at one instant", 20000, t0.Add(123456789), 20000 * 19999 / 2 / 1e6, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collisions(tt.n, tt.at)
			t.Logf("%d pairs share an ns (chance: %.3g)", got, tt.expected)
			assert.LessOrEqual(t, got, tt.max)
		})
	}
}

func TestNSAllocatorWithinABatch(t *testing.T) {
	r := &jobType{host: "h", app: "a", job: "j", entityType: "subjob"}
	at := t0
	// Two events whose hashes agree on the nine digits, and a copy of the first.
	v1 := value{host: "h", key: itemKey(itemCompleted, r), text: "1", at: at, row: r, id: 42}
	v2 := v1
	v2.id = 42 + uint64(nsPerSecond)
	out := stamp([]value{v1, v2, v1}, t0)
	assert.Equal(t, 42, out[0].NS)
	assert.Equal(t, 43, out[1].NS, "the second event moves to the next ns")
	assert.Equal(t, 42, out[2].NS, "a copy keeps its event's ns")
	// A time before 2000 is unknown: the send time's second.
	v1.at = time.Unix(0, 0)
	assert.Equal(t, t0.Add(time.Minute).Unix(), stamp([]value{v1}, t0.Add(time.Minute))[0].Clock)
}

func TestEventIDs(t *testing.T) {
	keyed := pcommon.NewMap()
	keyed.PutStr(semconv.AttrIdempotencyKey, "7b0c6b8e")
	assert.Equal(t, eventID(keyed, sub1ID, "finished", t0), eventID(keyed, sub2ID, "progress", t0.Add(time.Hour)), "the key alone")
	other := pcommon.NewMap()
	other.PutStr(semconv.AttrIdempotencyKey, "7b0c6b8f")
	assert.NotEqual(t, eventID(keyed, sub1ID, "finished", t0), eventID(other, sub1ID, "finished", t0))
	// Without a key: the entity, kind and time, as the receiver derives one.
	none := pcommon.NewMap()
	assert.NotEqual(t, eventID(none, sub1ID, "progress", t0), eventID(none, sub1ID, "progress", t0.Add(time.Nanosecond)))
	assert.NotEqual(t, eventID(none, sub1ID, "progress", t0), eventID(none, sub2ID, "progress", t0))
	assert.NotEqual(t, eventID(none, sub1ID, "progress", t0), eventID(none, sub1ID, "metric", t0))
	assert.Equal(t, eventID(none, sub1ID, "progress", t0), eventID(none, sub1ID, "progress", t0))
	// Parts are kept apart: "ab"+"c" is not "a"+"bc".
	assert.NotEqual(t, eventHash("ab", "c"), eventHash("a", "bc"))

	span := func(status string, end time.Time) uint64 {
		s := ptrace.NewSpan()
		s.SetTraceID([16]byte{1})
		s.SetSpanID([8]byte{2})
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		s.Attributes().PutStr(semconv.AttrEntityID, sub1ID)
		s.Attributes().PutStr(semconv.AttrStatus, status)
		return spanEventID(s, s.Attributes())
	}
	assert.Equal(t, span("failed", t0), span("failed", t0), "the same span sent again")
	assert.NotEqual(t, span("failed", t0), span("succeeded", t0), "an error, then the finish, of one entity")
	assert.NotEqual(t, span("failed", t0), span("failed", t0.Add(time.Second)))
}

// An event without a plausible time takes the time its record was received,
// whenever it is sent.
func TestImplausibleTimeTakesTheReceiveTime(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, env := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ctx := context.Background()
	received := t0.Add(-time.Hour + 1500*time.Millisecond)
	ld := logsOf(lotEvent("lot-1", jobID, "finished", "succeeded", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)))
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetObservedTimestamp(pcommon.NewTimestampFromTime(received))
	status := `fab1-litho wafer.status["litho","lot-1","job"]`
	require.NoError(t, e.pushLogs(ctx, ld))
	// Later than the exporter remembers values it sent (settledTTL).
	env.clock.Advance(10 * time.Minute)
	require.NoError(t, e.pushLogs(ctx, ld))
	var stamps []trappertest.Value
	for _, v := range srv.Values() {
		if v.Host+" "+v.Key == status {
			stamps = append(stamps, v)
		}
	}
	require.Len(t, stamps, 2)
	assert.Equal(t, received.Unix(), stamps[0].Clock)
	assert.Equal(t, 500, stamps[0].NS/nsPerMilli)
	assert.Equal(t, stamps[0], stamps[1], "sent again ten minutes later, the same stamp")
}

// subjobsEnding are n subjobs of one job type ending at the same time, each
// with its idempotency key when keyed.
func subjobsEnding(n int, at time.Time, keyed bool) []event {
	evs := make([]event, n)
	for i := range evs {
		id := fmt.Sprintf("c3a9e1f0-0000-4000-8000-%012d", i)
		evs[i] = event{site: "fab1", app: "litho", etype: "subjob", id: id, parent: jobID, key: "lot-4711", sub: fmt.Sprintf("wafer-%02d", i),
			kind: "finished", status: "succeeded", at: at, metrics: map[string]float64{"duration_s": float64(100 + i)}}
		if keyed {
			evs[i].extra = map[string]string{semconv.AttrIdempotencyKey: fmt.Sprintf("7b0c6b8e-3b51-4c1e-9d55-%012d", i)}
		}
	}
	return evs
}

// Values of one item from different batches in the same second all reach
// the fake trapper's store, which keeps one value per item, clock and ns as
// Zabbix 6.0 does; sending the same events again, grouped otherwise, stores
// nothing more, and stamps each value as the first time.
func TestValuesOfOneItemAcrossBatches(t *testing.T) {
	const n = 40
	duration := `fab1-litho wafer.duration["litho","lot-4711","subjob"]`
	tests := []struct {
		name     string
		at       time.Time
		keyed    bool
		perBatch int
	}{
		{"whole-second times, one event per batch", t0.Add(time.Hour), true, 1},
		{"whole-second times without idempotency keys", t0.Add(time.Hour), false, 1},
		{"one instant (a watchdog sweep), one event per batch", t0.Add(time.Hour + 123456789), true, 1},
		{"whole-second times, two events per batch", t0.Add(time.Hour), true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := trappertest.Start(t, nil)
			e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
			ctx := context.Background()
			// The job type's items exist: its values share requests.
			first := subjobsEnding(1, t0, tt.keyed)
			first[0].id, first[0].sub = sub1ID, "wafer-99"
			require.NoError(t, e.pushLogs(ctx, logsOf(first...)))
			st, _ := e.jobs.state(lotSubjobs, e.now())
			require.Equal(t, phaseConfirmed, st.phase)

			evs := subjobsEnding(n, tt.at, tt.keyed)
			for i := 0; i < n; i += tt.perBatch {
				require.NoError(t, e.pushLogs(ctx, logsOf(evs[i:i+tt.perBatch]...)))
			}
			stamps := stampsOf(srv.Values(), duration, tt.at)
			require.Len(t, stamps, n, "every subjob's duration was sent")
			assert.Len(t, stampsOf(srv.Stored(), duration, tt.at), n, "and stored")

			// Sent again, all in one batch (a retry, a replay from a client's spool).
			sent := len(srv.Values())
			require.NoError(t, e.pushLogs(ctx, logsOf(evs...)))
			again := stampsOf(srv.Values()[sent:], duration, tt.at)
			assert.Equal(t, stamps, again, "each value stamped as the first time")
			assert.Len(t, stampsOf(srv.Stored(), duration, tt.at), n, "nothing stored twice")
		})
	}
}

// A value sent again after a refusal, next to a new value of the same item
// and second: both are stored, the resent one with its first stamp.
func TestResentValueNextToANewOne(t *testing.T) {
	srv := trappertest.Start(t, nil)
	e, _ := newTestExporter(t, srv, func(c *Config) { c.Discovery.ItemDelay = 0 })
	ctx := context.Background()
	duration := `fab1-litho wafer.duration["litho","lot-4711","subjob"]`
	evs := subjobsEnding(2, t0.Add(time.Hour), true)
	require.NoError(t, e.pushLogs(ctx, logsOf(subjobsEnding(1, t0, true)...)))

	srv.SetRefuse(func(v trappertest.Value) bool { return true })
	pending := pendingLogs(t, e.pushLogs(ctx, logsOf(evs[0])))
	first := stampsOf(srv.Values(), duration, evs[0].at)
	require.Len(t, first, 1, "sent once, refused")

	srv.SetRefuse(nil)
	next := plog.NewLogs()
	pending.ResourceLogs().MoveAndAppendTo(next.ResourceLogs())
	logsOf(evs[1]).ResourceLogs().MoveAndAppendTo(next.ResourceLogs())
	require.NoError(t, e.pushLogs(ctx, next))
	stored := stampsOf(srv.Stored(), duration, evs[0].at)
	require.Len(t, stored, 2, "the resent value and the new one")
	assert.Equal(t, first["100"], stored["100"], "the resent value's first stamp")
}

// stampsOf are the ns of the values of one host and key at one second.
func stampsOf(values []trappertest.Value, hostKey string, at time.Time) map[string]int {
	out := map[string]int{}
	for _, v := range values {
		if v.Host+" "+v.Key == hostKey && v.Clock == at.Unix() {
			out[v.Value] = v.NS
		}
	}
	return out
}

// lotSubjobs is the job type of subjobsEnding.
var lotSubjobs = jobType{host: "fab1-litho", site: "fab1", app: "litho", job: "lot-4711", entityType: "subjob"}
