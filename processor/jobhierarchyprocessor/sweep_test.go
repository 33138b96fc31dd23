package jobhierarchyprocessor

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func finished(typ, id, parent string, at time.Time) plog.Logs {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: typ, id: id, parent: parent, bk: "lot-4711", kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: at})
	return ld
}

// A check holds h.mu in pieces: reports sent between two pieces are
// processed before the check ends, and what they change is taken into
// account: an overdue subjob closed meanwhile, before or after the check
// looked at it, is not given up; one closed and opened again is a new,
// fresh subjob; one opened meanwhile is checked at the next check.
func TestCheckLetsReportsThroughBetweenPieces(t *testing.T) {
	cfg := testConfig()
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = time.Hour
	hs := newHarness(t, cfg, nil)
	hs.h.checkChunk = 2
	sub := func(i int) string { return benchSubjobID(i) }
	ld, records := newRecords()
	for i := 0; i < 6; i++ {
		addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: sub(i), parent: jobA, bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
	}
	hs.consumeLogs(ld)
	hs.clock.advance(time.Hour)

	pieces := 0
	var during int
	hs.h.pieceHook = func(time.Duration) {
		pieces++
		// Piece 1 took the keys, piece 2 looked at sub 0 and 1 (both
		// overdue); 2 to 5 are still to be looked at.
		if pieces != 2 {
			return
		}
		require.True(t, hs.h.mu.TryLock(), "h.mu is free between pieces")
		hs.h.mu.Unlock()
		before := hs.lsink.LogRecordCount()
		now := hs.clock.now()
		hs.consumeLogs(finished(semconv.EntityTypeSubjob, sub(0), jobA, now))
		hs.consumeLogs(finished(semconv.EntityTypeSubjob, sub(1), jobA, now))
		hs.consumeLogs(started(semconv.EntityTypeSubjob, sub(1), jobA, now))
		hs.consumeLogs(finished(semconv.EntityTypeSubjob, sub(5), jobA, now))
		hs.consumeLogs(started(semconv.EntityTypeSubjob, sub(6), jobA, now))
		during = hs.lsink.LogRecordCount() - before
	}
	hs.tick()

	assert.Greater(t, pieces, 4, "the check ran in pieces")
	assert.Equal(t, 5, during, "reports sent between pieces passed before the check ended")
	assert.Equal(t, []string{"timeout " + sub(2), "timeout " + sub(3), "timeout " + sub(4)}, kinds(syntheticRecords(hs.allLogs())))
	assert.Equal(t, 3, hs.tsink.SpanCount())
	open := hs.h.entities.keys()
	assert.ElementsMatch(t, []string{sub(1), sub(6)}, open)

	// The next check gives up nobody twice; the fresh subjobs are not due.
	hs.h.pieceHook = nil
	hs.tick()
	assert.Equal(t, 3, hs.tsink.SpanCount())
	assert.ElementsMatch(t, []string{sub(1), sub(6)}, hs.h.entities.keys())
	hs.clock.advance(time.Hour)
	hs.tick()
	assert.Equal(t, 5, hs.tsink.SpanCount())
	assert.Zero(t, hs.h.entities.len())
}

// The same for job summaries: a summary due to be forgotten whose job
// starts between two pieces is kept; one made meanwhile is left alone.
func TestCheckForgetsSummariesByPieces(t *testing.T) {
	cfg := testConfig()
	hs := newHarness(t, cfg, nil)
	hs.h.checkChunk = 2
	job := func(i int) string { return benchJobID(i) }
	declared := func(kind string, i int) plog.Logs {
		ld, records := newRecords()
		addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: job(i), bk: "lot-4711", kind: kind, status: semconv.StatusRunning, at: hs.clock.now(), expected: 5})
		return ld
	}
	// Jobs that ended declaring subjobs that never came.
	for i := 0; i < 4; i++ {
		hs.consumeLogs(declared(semconv.KindFinished, i))
	}
	require.Equal(t, 4, hs.h.jobs.len())
	hs.clock.advance(cfg.OrphanTimeout)

	pieces := 0
	hs.h.pieceHook = func(time.Duration) {
		pieces++
		// Pieces 1 and 2 took the keys of entities and summaries, piece 3
		// looked at jobs 0 and 1.
		if pieces == 3 {
			hs.consumeLogs(declared(semconv.KindStarted, 0))
			hs.consumeLogs(declared(semconv.KindStarted, 4))
		}
	}
	hs.tick()

	assert.ElementsMatch(t, []string{job(0), job(4)}, hs.h.jobs.keys())
	assert.Equal(t, 2, hs.h.entities.len())
}

// Subjobs a check finds stalled and that report again between two of its
// pieces: each one's recovered event reaches the exporters after the
// check's stalled event for it, never before (a Zabbix problem opened by
// the stalled event would otherwise stay open). The reports are sent from
// another goroutine; the check gives them up to 300 ms to pass, which they
// may not do while the check has not emitted.
func TestRecoveredFollowsTheStalledEventOfACheckInPieces(t *testing.T) {
	hs := newHarness(t, testConfig(), nil)
	hs.h.checkChunk = 1
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, base))
	hs.consumeLogs(started(semconv.EntityTypeSubjob, subA2, jobA, base))
	hs.lsink.Reset()
	hs.clock.advance(15 * time.Minute)

	pieces := 0
	done := make(chan struct{})
	hs.h.pieceHook = func(time.Duration) {
		pieces++
		// Piece 1 took the keys, piece 2 marked one subjob stalled.
		if pieces != 2 {
			return
		}
		go func() {
			defer close(done)
			hs.consumeLogs(started(semconv.EntityTypeSubjob, subA1, jobA, hs.clock.now()))
			hs.consumeLogs(started(semconv.EntityTypeSubjob, subA2, jobA, hs.clock.now()))
		}()
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
		}
	}
	hs.tick()
	<-done

	got := kinds(syntheticRecords(hs.allLogs()))
	stalled := map[string]bool{}
	recovered := 0
	for _, k := range got {
		kind, id, _ := strings.Cut(k, " ")
		switch kind {
		case semconv.KindStalled:
			stalled[id] = true
		case semconv.KindRecovered:
			recovered++
			assert.True(t, stalled[id], "recovered %s before its stalled event: %v", id, got)
		}
	}
	assert.Positive(t, recovered, "%v", got)
}
