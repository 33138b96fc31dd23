package jobhierarchyprocessor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// dueModelConfig has short limits, per-rule ones and small caps, so that
// a few dozen operations reach every deadline the check handles and the
// evictions.
func dueModelConfig() *Config {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = 10 * time.Minute
	cfg.Watchdog.MaxDuration = time.Hour
	cfg.Watchdog.Rules = []WatchdogRule{
		{ServiceName: "etch-.*", MaxDuration: 20 * time.Minute},
		{BusinessKey: "lot-9.*", EntityType: semconv.EntityTypeSubjob, StallTimeout: 2 * time.Minute},
	}
	cfg.OrphanTimeout = 5 * time.Minute
	cfg.LateWindow = 10 * time.Minute
	cfg.MaxOpenEntities = 12
	cfg.MaxJobSummaries = 5
	cfg.MaxSubjobIDs = 30
	return cfg
}

// dueModelSide is one processor of the model: the one checking what the
// due index gives, or the reference, which looks at every entry.
type dueModelSide struct {
	t        testing.TB
	fullWalk bool
	hs       *harness
	client   *memClient
	events   []string
	kinds    map[string]int
}

func newDueModelSide(t testing.TB, fullWalk bool, client *memClient, start time.Time) *dueModelSide {
	s := &dueModelSide{t: t, fullWalk: fullWalk, kinds: map[string]int{}}
	s.start(client, start)
	return s
}

func (s *dueModelSide) start(client *memClient, at time.Time) {
	s.client = client
	s.hs = newStoredHarness(s.t, dueModelConfig(), client, at)
	s.hs.h.fullWalk = s.fullWalk
}

// drain appends what the processor emitted since the last drain: its own
// events in order (late_subjobs events, which a check emits in no
// particular order, sorted after them) and every span, which carries the
// job's roll-ups.
func (s *dueModelSide) drain() {
	var late []string
	for _, ld := range s.hs.lsink.AllLogs() {
		for _, lr := range syntheticRecords(ld) {
			line := fmt.Sprintf("%d %s %v", lr.Timestamp(), lr.Body().AsString(), lr.Attributes().AsRaw())
			v, _ := lr.Attributes().Get(semconv.AttrEventKind)
			s.kinds[v.Str()]++
			if v.Str() == semconv.KindLateSubjobs {
				late = append(late, line)
				continue
			}
			s.events = append(s.events, line)
		}
	}
	slices.Sort(late)
	s.events = append(s.events, late...)
	for _, td := range s.hs.tsink.AllTraces() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					sp := spans.At(k)
					s.events = append(s.events, fmt.Sprintf("span %s %d-%d %s %v", sp.Name(), sp.StartTimestamp(), sp.EndTimestamp(), sp.Status().Code(), sp.Attributes().AsRaw()))
				}
			}
		}
	}
	s.hs.lsink.Reset()
	s.hs.tsink.Reset()
}

// runDueModel runs the operations ops encodes through both sides and
// requires the same events, in the same order, and the same state after
// every check. It returns how many events were compared and how many of
// the processor's own events of each kind there were.
func runDueModel(t testing.TB, ops []byte) (int, map[string]int) {
	client := newMemClient()
	due := newDueModelSide(t, false, client, base)
	ref := newDueModelSide(t, true, client.crashCopy(), base)
	sides := []*dueModelSide{due, ref}
	clock := base
	services := []string{"litho-scheduler", "etch-a"}
	keys := []string{"lot-4711", "lot-9001"}
	compare := func() {
		for _, s := range sides {
			s.drain()
		}
		require.Equal(t, ref.events, due.events, "the check by the due index emits what a walk over every entry emits")
		require.Equal(t, dumpState(ref.hs.h), dumpState(due.hs.h), "and leaves the same state")
	}
	for len(ops) >= 2 {
		op, arg := ops[0], int(ops[1])
		ops = ops[2:]
		job, sub := benchJobID(arg%6), benchSubjobID(arg%20)
		parent := benchJobID((arg / 20) % 6)
		svc, bk := services[arg%2], keys[(arg/2)%2]
		record := func(typ, id, par, kind, status string, expected int64) plog.Logs {
			ld, records := newRecords()
			ld.ResourceLogs().At(0).Resource().Attributes().PutStr(semconv.AttrServiceName, svc)
			addRecord(records, recordSpec{typ: typ, id: id, parent: par, bk: bk, kind: kind, status: status, at: clock, expected: expected})
			return ld
		}
		span := func(typ, id, par, status string) ptrace.Traces {
			td, spans := newSpans()
			td.ResourceSpans().At(0).Resource().Attributes().PutStr(semconv.AttrServiceName, svc)
			addSpan(spans, spanSpec{typ: typ, id: id, parent: par, bk: bk, status: status, end: clock, expected: int64(arg % 3)})
			return td
		}
		for _, s := range sides {
			switch op % 10 {
			case 0:
				s.hs.consumeLogs(record(semconv.EntityTypeJob, job, "", semconv.KindStarted, semconv.StatusRunning, int64(arg%4)))
			case 1:
				s.hs.consumeLogs(record(semconv.EntityTypeSubjob, sub, parent, semconv.KindStarted, semconv.StatusRunning, 0))
			case 2:
				if arg%2 == 0 {
					s.hs.consumeLogs(record(semconv.EntityTypeSubjob, sub, parent, semconv.KindProgress, semconv.StatusRunning, 0))
				} else {
					s.hs.consumeLogs(record(semconv.EntityTypeJob, job, "", semconv.KindProgress, semconv.StatusRunning, 0))
				}
			case 3:
				if arg%2 == 0 {
					s.hs.consumeLogs(record(semconv.EntityTypeSubjob, sub, parent, semconv.KindFinished, semconv.StatusSucceeded, 0))
				} else {
					s.hs.consumeLogs(record(semconv.EntityTypeJob, job, "", semconv.KindFinished, semconv.StatusSucceeded, 0))
				}
			case 4:
				s.hs.consumeTraces(span(semconv.EntityTypeSubjob, sub, parent, semconv.StatusSucceeded))
			case 5:
				s.hs.consumeTraces(span(semconv.EntityTypeJob, job, "", semconv.StatusFailed))
			case 8:
				s.hs.tick()
			case 9:
				// A crash: the state as of the last check, restored after
				// some downtime.
				s.start(s.client.crashCopy(), clock.Add(time.Duration(arg)*time.Minute))
			}
		}
		switch op % 10 {
		case 6:
			// Steps on a grid of the limits, so that checks fall on
			// deadlines exactly.
			clock = clock.Add(time.Duration(arg%16) * 20 * time.Second)
		case 7:
			clock = clock.Add(time.Duration(arg%16) * 5 * time.Minute)
		case 9:
			clock = clock.Add(time.Duration(arg) * time.Minute)
		}
		for _, s := range sides {
			s.hs.clock.t = clock
		}
		if op%10 == 8 || op%10 == 9 {
			compare()
		}
	}
	for _, s := range sides {
		s.hs.tick()
	}
	compare()
	return len(due.events), due.kinds
}

// The check by the due index emits the events a check over every open
// entity and summary emits, in the same order, and leaves the same state,
// over random reports, spans, clock steps, checks and restarts: stalls
// (global and per rule), recoveries, max_duration (global and per rule),
// orphans, late subjobs, summaries done with and evicted.
func TestDueCheckMatchesFullWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	events := 0
	kinds := map[string]int{}
	for run := 0; run < 150; run++ {
		ops := make([]byte, 2*(40+rng.IntN(120)))
		for i := range ops {
			ops[i] = byte(rng.IntN(256))
		}
		n, k := runDueModel(t, ops)
		events += n
		for kind, c := range k {
			kinds[kind] += c
		}
	}
	t.Logf("%d events compared; the processor's own: %v", events, kinds)
	for _, kind := range []string{semconv.KindStalled, semconv.KindRecovered, semconv.KindTimeout, semconv.KindOrphanSubjobs, semconv.KindLateSubjobs} {
		require.Positive(t, kinds[kind], "the runs reach %s", kind)
	}
}

// FuzzDueCheck: any operations give the same events and state through the
// check by the due index as through a check over every entry. Seeds are in
// testdata/fuzz/FuzzDueCheck.
func FuzzDueCheck(f *testing.F) {
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 600 {
			ops = ops[:600]
		}
		runDueModel(t, ops)
	})
}
