package jobhierarchyprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// A check encodes the chunks of a snapshot being written each in a hold of
// h.mu of its own, and reports pass between them. What they change is in
// the state a crash after the check restores exactly as far as the check's
// last hold: changes made between chunks are in the chunks encoded after
// them and in one more journal entry written with the chunks, so a chunk
// never holds a change that no entry written with it holds (which would
// restore, e.g., a subjob's end in its entity but not in its job's summary).
func TestChunksEncodedWhileReportsPass(t *testing.T) {
	client := newMemClient()
	cfg := storageConfig()
	cfg.Watchdog.MaxDuration = 0
	hs := newStoredHarness(t, cfg, client, base)
	gen := hs.h.store.index.Gen

	injected, next := 0, 0
	var last stateDump
	hs.h.pieceHook = func(time.Duration) {
		if hs.h.storeMu.TryLock() {
			// The check's sweep, not its checkpoint.
			hs.h.storeMu.Unlock()
			return
		}
		last = dumpState(hs.h)
		// A job starts, and one started earlier ends with a subjob.
		hs.consumeLogs(startedJobs(1_000_000+injected, 1, hs.clock.now()))
		ld, records := newRecords()
		td, spans := newSpans()
		addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: benchJobID(next), kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: hs.clock.now()})
		subjobSpan(spans, benchSubjobID(2_000_000+injected), benchJobID(next), semconv.StatusSucceeded, 1)
		hs.consumeLogs(ld)
		hs.consumeTraces(td)
		injected++
		next++
	}
	for checks := 0; hs.h.store.index.Gen == gen; checks++ {
		require.Less(t, checks, 2000, "no snapshot was written")
		hs.clock.advance(time.Second)
		hs.consumeLogs(startedJobs(checks*200, 200, hs.clock.now()))
		before := injected
		hs.tick()
		if injected == before {
			continue
		}
		// The state as of the check's last hold, before the report sent
		// after it.
		restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
		require.Equal(t, last, dumpState(restarted.h), "a crash after check %d", checks)
	}
	require.Positive(t, injected, "reports passed between chunks")
	t.Logf("%d reports between chunks", injected)
}
