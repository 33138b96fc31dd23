package jobhierarchyprocessor

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// storageHost offers extensions to the processor, as the collector does.
type storageHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var fileStorageID = component.MustNewID("file_storage")

// startFileStorage runs the real file_storage extension on dir.
func startFileStorage(t testing.TB, dir string) (extension.Extension, component.Host) {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return ext, storageHost{Host: componenttest.NewNopHost(), exts: map[component.ID]component.Component{fileStorageID: ext}}
}

func storageConfig() *Config {
	cfg := testConfig()
	cfg.Storage = &fileStorageID
	cfg.Watchdog.StallTimeout = 0
	cfg.Watchdog.MaxDuration = time.Hour
	return cfg
}

func jobSpanOf(td ptrace.Traces, id string) ptrace.Span {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if v, ok := spans.At(k).Attributes().Get(semconv.AttrEntityID); ok && v.Str() == id {
					return spans.At(k)
				}
			}
		}
	}
	return ptrace.NewSpan()
}

func TestStateSurvivesRestartWithFileStorage(t *testing.T) {
	dir := t.TempDir()

	// Before the restart: job A runs, one of its subjobs ended; job B has a
	// subjob but its span has not come yet.
	ext, host := startFileStorage(t, dir)
	first := newHarness(t, storageConfig(), host)
	first.consumeLogs(startedAB())
	first.consumeTraces(finishedA1Span())
	first.consumeTraces(jobBSubjobs())
	first.clock.advance(10 * time.Minute)
	first.tick()
	first.shutdown()
	require.NoError(t, ext.Shutdown(context.Background()))

	// After it: a new process, a new extension on the same directory.
	ext, host = startFileStorage(t, dir)
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	second := newHarness(t, storageConfig(), host)
	second.clock.advance(20 * time.Minute)
	assert.Equal(t, 2, second.h.entities.len(), "job A and subjob A1 are still open")
	assert.Equal(t, 2, second.h.jobs.len())

	// Roll-ups continue: job B's span gets the subjob seen before the restart.
	second.consumeTraces(jobBSpan())
	jobB := jobSpanOf(second.allTraces(), jobB)
	assert.Equal(t, int64(1), jobB.Attributes().AsRaw()[semconv.AttrSubjobsTotal])
	assert.Equal(t, 3.0, jobB.Attributes().AsRaw()[semconv.AttrJobCPUUserSum])

	// An entity open before the restart still times out after it, an hour
	// after it was first seen, with the roll-ups of its subjobs.
	second.clock.advance(39 * time.Minute)
	second.tick()
	assert.Empty(t, syntheticRecords(second.allLogs()))
	second.clock.advance(time.Minute)
	second.tick()
	assert.ElementsMatch(t, []string{"timeout " + jobA, "timeout " + subA1}, kinds(syntheticRecords(second.allLogs())))
	jobA := jobSpanOf(second.allTraces(), jobA)
	assert.Equal(t, semconv.StatusTimedOut, jobA.Attributes().AsRaw()[semconv.AttrStatus])
	assert.Equal(t, int64(1), jobA.Attributes().AsRaw()[semconv.AttrSubjobsSucceeded])
	assert.Equal(t, int64(1), jobA.Attributes().AsRaw()[semconv.AttrSubjobsMissing], "job A declared 2 subjobs before the restart")
	assert.Equal(t, pcommonTimestamp(base), jobA.StartTimestamp())
}

func TestMissingStorageExtension(t *testing.T) {
	cfg := storageConfig()
	tp, err := NewFactory().CreateTraces(context.Background(), processortestSettings(), cfg, new(consumertestTracesSink))
	require.NoError(t, err)
	err = tp.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, `storage: extension "file_storage" is not configured`)
	require.NoError(t, tp.Shutdown(context.Background()))
}

// stateDump is the processor's state in a comparable form.
type stateDump struct {
	Entities  map[string]openEntity
	EntityCls map[string]int
	Jobs      map[string]jobSummary
	JobCls    map[string]int
	JobIDs    map[string][]uint64
	Evicted   map[uint64]uint8
	LateJobs  []string
	IDCount   int
}

func dumpState(h *hierarchy) stateDump {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := stateDump{Entities: map[string]openEntity{}, EntityCls: map[string]int{}, Jobs: map[string]jobSummary{}, JobCls: map[string]int{}, JobIDs: map[string][]uint64{}, Evicted: maps.Clone(h.evicted.set), IDCount: h.idCount}
	h.entities.each(func(id string, e *openEntity) {
		c := *e
		c.hasLimits, c.stall, c.maxDuration = false, 0, 0
		d.Entities[id] = c
		d.EntityCls[id] = h.entities.classOf(id)
	})
	h.jobs.each(func(id string, s *jobSummary) {
		c := *s
		c.ids, c.unsaved, c.saved = idSet{}, nil, false
		d.Jobs[id] = c
		d.JobCls[id] = h.jobs.classOf(id)
		ids := s.ids.all()
		slices.Sort(ids)
		d.JobIDs[id] = ids
	})
	for id := range h.lateJobs {
		d.LateJobs = append(d.LateJobs, id)
	}
	slices.Sort(d.LateJobs)
	return d
}

// busyState drives a processor through a bit of everything the state
// holds: open jobs and subjobs (one stalled, one orphan), summaries of
// reported and orphan jobs with counted subjobs, a passed job with a late
// subjob pending, and an evicted summary.
func busyState(hs *harness, step func()) {
	hs.consumeLogs(startedAB())
	step()
	hs.consumeLogs(started(semconv.EntityTypeSubjob, "c1000000-0000-4000-8000-000000000001", "c0000000-0000-4000-8000-000000000000", base))
	hs.consumeTraces(jobBSubjobs())
	hs.consumeTraces(finishedA1Span())
	step()
	hs.consumeTraces(onlyJobA())
	hs.consumeTraces(lateSubjobOfA())
	step()
	hs.clock.advance(15 * time.Minute)
	step() // stalls, late subjobs reported
	for i := range 3 {
		td, spans := newSpans()
		addSpan(spans, spanSpec{typ: semconv.EntityTypeSubjob, id: fmt.Sprintf("d1000000-0000-4000-8000-%012d", i), parent: fmt.Sprintf("d0000000-0000-4000-8000-%012d", i), status: semconv.StatusFailed, end: hs.clock.now()})
		hs.consumeTraces(td)
	}
	hs.consumeTraces(lateSubjobOfA())
	step()
}

func TestStateRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     func(*Config)
		evicted int
	}{
		{name: "journal only", cfg: func(*Config) {}},
		// A cap of 4 summaries evicts orphan summaries as the state grows.
		{name: "with evictions", cfg: func(c *Config) { c.MaxJobSummaries = 4 }, evicted: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			client := newMemClient()
			c := storageConfig()
			c.Watchdog.StallTimeout = 10 * time.Minute
			cfg(c)
			first := newStoredHarness(t, c, client, base)
			busyState(first, first.tick)
			want := dumpState(first.h)
			require.NotEmpty(t, want.Entities)
			require.NotEmpty(t, want.Jobs)
			require.Len(t, want.Evicted, tt.evicted)
			assert.Greater(t, len(client.keys("v2/update/")), 1, "changes were journaled")

			// A crash after the last check: everything the checks wrote is back.
			second := newStoredHarness(t, c2(c), client.crashCopy(), first.clock.now())
			assert.Equal(t, want, dumpState(second.h))

			// A restart after a shutdown: the same, from the snapshot written
			// after the restore, plus a journal entry.
			second.consumeTraces(lateSubjobOfA()) // a copy: changes nothing
			second.tick()
			second.shutdown()
			third := newStoredHarness(t, c2(c), client.crashCopy(), first.clock.now())
			assert.Equal(t, want, dumpState(third.h))
		})
	}
}

// c2 is a copy of a configuration (each harness needs its own).
func c2(c *Config) *Config {
	cp := *c
	return &cp
}

func startedJobs(from, n int, at time.Time) plog.Logs {
	ld, records := newRecords()
	for i := from; i < from+n; i++ {
		addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: benchJobID(i), bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: at})
	}
	return ld
}

func TestCheckpointWritesWhatChanged(t *testing.T) {
	client := newMemClient()
	cfg := storageConfig()
	cfg.Watchdog.MaxDuration = 0
	hs := newStoredHarness(t, cfg, client, base)
	require.Equal(t, []string{stateKey}, client.keys("v2/state"), "the state is written at the start")
	// 10,000 open jobs, written as a snapshot.
	hs.consumeLogs(startedJobs(0, 10000, base))
	hs.h.store.needSnapshot = true
	hs.tick()
	require.Len(t, client.keys("v2/snapshot/"), hs.h.store.index.Chunks)
	require.Empty(t, client.keys("v2/update/"))
	writes, written := client.stats()

	// One more event: one journal entry of about one entity.
	hs.clock.advance(time.Second)
	hs.consumeLogs(startedJobs(10000, 1, hs.clock.now()))
	hs.tick()
	w, b := client.stats()
	assert.Equal(t, writes+1, w, "one write")
	assert.Less(t, b-written, 200, "bytes written for one event with 10,000 open jobs")
	assert.Equal(t, []string{journalKey(hs.h.store.index.From)}, client.keys("v2/update/"))

	// Nothing changed: nothing written, until the heartbeat is due.
	hs.clock.advance(time.Second)
	hs.tick()
	w2, _ := client.stats()
	assert.Equal(t, w, w2)
	hs.clock.advance(max(heartbeatInterval, hs.h.cfg.CheckInterval))
	hs.tick()
	w3, _ := client.stats()
	assert.Equal(t, w+1, w3, "a heartbeat while entities are open")

	// A failed write: the next check writes everything, and drops the journal.
	client.fail = true
	hs.consumeLogs(startedJobs(10001, 1, hs.clock.now()))
	hs.tick()
	client.fail = false
	hs.tick()
	assert.Empty(t, client.keys("v2/update/"))
	restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
	assert.Equal(t, dumpState(hs.h), dumpState(restarted.h))
	assert.Equal(t, 10002, restarted.h.entities.len())
}

// TestSnapshotWhenJournalOutgrowsIt: once the journal holds as much as the
// snapshot, a new snapshot is written a chunk at a time, about as many bytes
// a check as the journal entry, and then replaces the old one and the
// journal before it. A crash at any check, during that too, restores the
// state of the last check.
func TestSnapshotWhenJournalOutgrowsIt(t *testing.T) {
	client := newMemClient()
	cfg := storageConfig()
	cfg.Watchdog.MaxDuration = 0
	hs := newStoredHarness(t, cfg, client, base)
	gen := hs.h.store.index.Gen
	r := rand.New(rand.NewPCG(7, 8))
	built, checks := false, 0
	// Until a snapshot replaced the first one and the next is being written.
	for ; !built || hs.h.store.building == nil; checks++ {
		require.Less(t, checks, 2000, "no snapshot was written")
		// 200 jobs start and 100 of the open ones end, with a subjob each.
		hs.clock.advance(time.Second)
		hs.consumeLogs(startedJobs(checks*200, 200, hs.clock.now()))
		ld, records := newRecords()
		td, spans := newSpans()
		for range 100 {
			j := r.IntN((checks + 1) * 200)
			addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: benchJobID(j), kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: hs.clock.now()})
			subjobSpan(spans, benchSubjobID(checks*100+j), benchJobID(j), semconv.StatusSucceeded, 1)
		}
		hs.consumeLogs(ld)
		hs.consumeTraces(td)
		_, before := client.stats()
		entryBefore := hs.h.store.journalBytes
		hs.tick()
		_, after := client.stats()
		if hs.h.store.building != nil || hs.h.store.index.Gen != gen {
			// A snapshot is being written: the chunks of a check are paid
			// for by its journal entry, give or take a chunk.
			entry := hs.h.store.journalBytes - entryBefore
			if hs.h.store.index.Gen == gen {
				assert.LessOrEqual(t, after-before, 2*entry+2*snapshotChunkBytes, "check %d", checks)
			}
		}
		if hs.h.store.index.Gen != gen {
			built = true
		}
		if checks%10 == 0 || hs.h.store.building != nil && hs.h.store.building.written == 1 {
			restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
			require.Equal(t, dumpState(hs.h), dumpState(restarted.h), "a crash after check %d", checks)
		}
	}
	// The old snapshot and the journal before the new one are gone.
	assert.Empty(t, client.keys(fmt.Sprintf("v2/snapshot/%016x/", gen)))
	for _, k := range client.keys("v2/update/") {
		assert.GreaterOrEqual(t, k, journalKey(hs.h.store.index.From))
	}
	t.Logf("%d checks; snapshot of %d bytes in %d chunks; journal of %d entries, %d bytes", checks, hs.h.store.snapshotBytes, hs.h.store.index.Chunks, hs.h.store.journalEntries, hs.h.store.journalBytes)
	restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
	assert.Equal(t, dumpState(hs.h), dumpState(restarted.h))
}

func TestCrashLosesAtMostTheLastCheckInterval(t *testing.T) {
	client := newMemClient()
	hs := newStoredHarness(t, storageConfig(), client, base)
	hs.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
	hs.consumeTraces(jobBSubjobs())
	hs.tick()
	hs.consumeLogs(started(semconv.EntityTypeJob, jobB, "", base))
	crashed := client.crashCopy() // killed before the next check

	restarted := newStoredHarness(t, storageConfig(), crashed, base)
	_, ok := restarted.h.entities.get(jobA)
	assert.True(t, ok, "written at the last check")
	_, ok = restarted.h.jobs.get(jobB)
	assert.True(t, ok, "written at the last check")
	_, ok = restarted.h.entities.get(jobB)
	assert.False(t, ok, "reported after the last check")
}

func TestLegacyStateIsMigrated(t *testing.T) {
	opened := base.UnixNano()
	entity := fmt.Sprintf(`[{"type":"job","id":%q,"bk":"lot-4711","res":{"svc":"litho-scheduler","site":"fab1"},"opened":%d,"seen":%d}]`, jobA, opened, opened)
	summary := fmt.Sprintf(`[{"id":%q,"res":{"svc":"litho-scheduler"},"created":%d,"updated":%d,"n":3,"ok":2,"fail":1,"m":1,"cpuU":3.5}]`, jobA, opened, opened)
	client := newMemClient()
	client.data[legacyEntitiesKey(7)] = []byte(entity)
	client.data[legacyJobsKey(9)] = []byte(summary)

	cfg := storageConfig()
	cfg.Watchdog.StallTimeout = 15 * time.Minute
	hs := newStoredHarness(t, cfg, client, base.Add(time.Hour))
	e, ok := hs.h.entities.get(jobA)
	require.True(t, ok)
	assert.Equal(t, classJob, hs.h.entities.classOf(jobA))
	assert.Equal(t, base.Add(time.Hour).UnixNano(), e.LastSeen, "the hour since the latest stored time is downtime")
	s, ok := hs.h.jobs.get(jobA)
	require.True(t, ok)
	assert.Equal(t, int64(3), s.Total)
	assert.True(t, s.Known, "its job is open")

	hs.tick()
	assert.Empty(t, client.keys("v1/"), "migrated once: the first format is deleted with the first snapshot")
	assert.NotEmpty(t, client.keys("v2/snapshot/"))
	assert.Empty(t, syntheticRecords(hs.allLogs()), "no stall right after the restart")
	restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
	assert.Equal(t, dumpState(hs.h), dumpState(restarted.h))
}

func TestDamagedPartsAreSkipped(t *testing.T) {
	part := func(gen, seq uint64, ids ...string) []byte {
		b := &stateBatch{gen: gen, seq: seq, writtenAt: base.UnixNano()}
		for _, id := range ids {
			b.addEntity(&openEntity{Type: semconv.EntityTypeJob, ID: id, Opened: base.UnixNano(), LastSeen: base.UnixNano()}, classJob)
		}
		return encodeBatch(b)
	}
	client := newMemClient()
	client.data[stateKey] = []byte(`{"gen":3,"chunks":3,"from":7}`)
	client.data[snapshotKey(3, 0)] = part(3, 0, "job-0")
	client.data[snapshotKey(3, 1)] = part(3, 0, "job-1")[:20] // torn
	client.data[snapshotKey(3, 2)] = part(3, 0, "job-2")
	client.data[journalKey(7)] = []byte("garbage")
	client.data[journalKey(8)] = part(0, 8, "job-8")
	client.data[journalKey(9)] = part(0, 5, "job-9") // another entry's: the journal ends
	client.data[journalKey(10)] = part(0, 10, "job-10")
	client.data[snapshotKey(4, 0)] = part(4, 0, "job-40") // of a snapshot a stop interrupted
	hs := newStoredHarness(t, storageConfig(), client, base)
	var ids []string
	hs.h.entities.each(func(id string, _ *openEntity) { ids = append(ids, id) })
	assert.ElementsMatch(t, []string{"job-0", "job-2", "job-8"}, ids)
	assert.Equal(t, uint64(9), hs.h.store.next, "the next entry replaces the stale one")
	assert.Empty(t, client.keys(fmt.Sprintf("v2/snapshot/%016x/", 4)), "deleted with the snapshot written at the start")

	// The first format: a damaged part is skipped too.
	legacy := newMemClient()
	legacy.data[legacyEntitiesKey(3)] = []byte("{not json")
	legacy.data[legacyEntitiesKey(4)] = []byte(`[null,{"type":"job","id":"` + jobA + `","opened":1,"seen":1}]`)
	hs = newStoredHarness(t, storageConfig(), legacy, base)
	_, ok := hs.h.entities.get(jobA)
	assert.True(t, ok)

	// A damaged index: the state starts empty.
	client = newMemClient()
	client.data[stateKey] = []byte("{")
	hs = newStoredHarness(t, storageConfig(), client, base)
	assert.Zero(t, hs.h.entities.len())
}

// TestFailedWriteDuringSnapshot: a write that fails while a snapshot is
// being written abandons it; the next check writes the whole state, and no
// chunk of the abandoned snapshot stays behind.
func TestFailedWriteDuringSnapshot(t *testing.T) {
	client := newMemClient()
	cfg := storageConfig()
	cfg.Watchdog.MaxDuration = 0
	hs := newStoredHarness(t, cfg, client, base)
	for i := 0; hs.h.store.building == nil || hs.h.store.building.written < 2; i++ {
		require.Less(t, i, 1000)
		hs.clock.advance(time.Second)
		hs.consumeLogs(startedJobs(i*500, 500, hs.clock.now()))
		hs.tick()
	}
	abandoned := hs.h.store.building.index.Gen
	client.fail = true
	hs.consumeLogs(startedJobs(1_000_000, 1, hs.clock.now()))
	hs.tick()
	client.fail = false
	hs.tick()
	assert.Nil(t, hs.h.store.building)
	assert.Empty(t, client.keys(fmt.Sprintf("v2/snapshot/%016x/", abandoned)))
	assert.Len(t, client.keys("v2/snapshot/"), hs.h.store.index.Chunks)
	assert.Empty(t, client.keys("v2/update/"))
	restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
	assert.Equal(t, dumpState(hs.h), dumpState(restarted.h))
}

// TestWithoutStorageNoChangesAreKept: without a storage extension nothing
// is kept for checkpoints, so memory does not grow with every key touched.
func TestWithoutStorageNoChangesAreKept(t *testing.T) {
	cfg := testConfig()
	cfg.MaxJobSummaries = 10
	hs := newHarness(t, cfg, nil)
	for i := 0; i < 100; i++ {
		hs.consumeLogs(startedJobs(i, 1, base))
		td, spans := newSpans()
		subjobSpan(spans, benchSubjobID(i), benchJobID(i), semconv.StatusSucceeded, 1)
		hs.consumeTraces(td)
	}
	assert.Zero(t, hs.h.entities.dirtyCount())
	assert.Zero(t, hs.h.jobs.dirtyCount())
	assert.Empty(t, hs.h.evicted.added)
	hs.h.jobs.each(func(_ string, s *jobSummary) { assert.Empty(t, s.unsaved) })
	assert.Equal(t, 10, hs.h.evicted.len(), "remembered up to max_job_summaries")
}

// TestSnapshotGoesOnWhenQuiet: a burst pays for a snapshot; the checks after
// it write the snapshot's chunks without waiting for new changes.
func TestSnapshotGoesOnWhenQuiet(t *testing.T) {
	client := newMemClient()
	cfg := storageConfig()
	cfg.Watchdog.MaxDuration = 0
	hs := newStoredHarness(t, cfg, client, base)
	hs.consumeLogs(startedJobs(0, 20000, base))
	hs.tick()
	require.NotNil(t, hs.h.store.building, "the burst's journal outgrew the snapshot of the empty state")
	gen := hs.h.store.index.Gen
	for i := 0; hs.h.store.index.Gen == gen; i++ {
		require.Less(t, i, 100, "the snapshot did not go on")
		hs.clock.advance(time.Second)
		hs.tick()
	}
	assert.Empty(t, client.keys("v2/update/"), "the burst's entries are in the snapshot")
	restarted := newStoredHarness(t, c2(cfg), client.crashCopy(), hs.clock.now())
	assert.Equal(t, dumpState(hs.h), dumpState(restarted.h))
}
