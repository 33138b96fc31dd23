package jobhierarchyprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// checkpointLoad is the state the processor holds at the target size
// (10,000 open jobs of 100 subjobs each) and the traffic of one check on
// top of it: perCheck events, half of them subjobs starting, half subjobs
// finishing (a log record and a span).
type checkpointLoad struct {
	h        *hierarchy
	clock    *fakeClock
	perCheck int
	next     int
}

const (
	loadJobs           = 10000
	loadSubjobsPerJob  = 100
	loadEventsPerCheck = 50 // the rate of the measurement: 43 events/s at check_interval 1s
)

func newCheckpointLoad(tb testing.TB, client storage.Client) *checkpointLoad {
	cfg := testConfig()
	cfg.Watchdog.MaxDuration, cfg.Watchdog.StallTimeout = 0, 0
	h, err := newHierarchy(cfg, processortest.NewNopSettings(metadata.Type))
	require.NoError(tb, err)
	tb.Cleanup(h.telemetry.Shutdown)
	l := &checkpointLoad{h: h, clock: &fakeClock{t: base}, perCheck: loadEventsPerCheck}
	h.now = l.clock.now
	h.nextLogs, h.nextTraces = consumertest.NewNop(), consumertest.NewNop()
	if client != nil {
		h.useStorage(client)
		require.NoError(tb, h.restore(context.Background()))
	}
	for j := 0; j < loadJobs; j += 100 {
		_, _ = h.processLogs(context.Background(), startedJobs(j, 100, base))
	}
	for j := 0; j < loadJobs; j++ {
		td, spans := newSpans()
		for s := 0; s < loadSubjobsPerJob; s++ {
			subjobSpan(spans, benchSubjobID(j*loadSubjobsPerJob+s), benchJobID(j), semconv.StatusSucceeded, 1)
		}
		_, _ = h.processTraces(context.Background(), td)
	}
	return l
}

// check runs one check's traffic and the check itself.
func (l *checkpointLoad) check(ctx context.Context) {
	l.traffic(ctx)
	l.h.tick(ctx)
}

// traffic is one check's traffic, a second of it.
func (l *checkpointLoad) traffic(ctx context.Context) {
	l.clock.advance(time.Second)
	ld, records := newRecords()
	td, spans := newSpans()
	for i := 0; i < l.perCheck/2; i++ {
		n := l.next
		l.next++
		job := benchJobID(n % loadJobs)
		started := fmt.Sprintf("20000000-0000-4000-8000-%012d", n)
		addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: started, parent: job, kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
		if n > 0 {
			done := fmt.Sprintf("20000000-0000-4000-8000-%012d", n-1)
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: done, parent: job, kind: semconv.KindFinished, status: semconv.StatusSucceeded, at: base})
			subjobSpan(spans, done, benchJobID((n-1)%loadJobs), semconv.StatusSucceeded, 1)
		}
	}
	_, _ = l.h.processLogs(ctx, ld)
	_, _ = l.h.processTraces(ctx, td)
}

// legacyCheckpoint writes what the first format wrote at a check: every
// one of the 64 parts of a table that holds a changed entry, whole, as JSON.
func legacyCheckpoint(ctx context.Context, h *hierarchy, client storage.Client) error {
	h.mu.Lock()
	entBuckets, jobBuckets := map[int][]*openEntity{}, map[int][]*jobSummary{}
	for id := range h.entities.takeDirty() {
		entBuckets[bucketOf(id)] = []*openEntity{}
	}
	for id := range h.jobs.takeDirty() {
		jobBuckets[bucketOf(id)] = []*jobSummary{}
	}
	h.entities.each(func(id string, e *openEntity) {
		if part, ok := entBuckets[bucketOf(id)]; ok {
			entBuckets[bucketOf(id)] = append(part, e)
		}
	})
	h.jobs.each(func(id string, s *jobSummary) {
		if part, ok := jobBuckets[bucketOf(id)]; ok {
			jobBuckets[bucketOf(id)] = append(part, s)
		}
	})
	var ops []*storage.Operation
	for b, part := range entBuckets {
		data, _ := json.Marshal(part)
		ops = append(ops, storage.SetOperation(legacyEntitiesKey(b), data))
	}
	for b, part := range jobBuckets {
		data, _ := json.Marshal(part)
		ops = append(ops, storage.SetOperation(legacyJobsKey(b), data))
	}
	h.mu.Unlock()
	return client.Batch(ctx, ops...)
}

// bucketOf is the first format's part of a key (FNV-1a).
func bucketOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % legacyBuckets)
}

// processWriteBytes is write_bytes of /proc/self/io: what this process
// caused to be written to disk.
func processWriteBytes(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/io")
	require.NoError(tb, err)
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("write_bytes: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatal("no write_bytes in /proc/self/io")
	return 0
}

// countingClient counts the bytes handed to storage and the time its
// transactions take.
type countingClient struct {
	storage.Client
	written int
	batch   time.Duration
}

func (c *countingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type == storage.Set {
			c.written += len(op.Value)
		}
	}
	start := time.Now()
	err := c.Client.Batch(ctx, ops...)
	c.batch += time.Since(start)
	return err
}

// BenchmarkCheckpointBytes: bytes written per event with the state at the
// target size (10,000 open jobs of 100 subjobs), 50 events a check, by the
// first format and by the current one in the same run, into the real
// file_storage extension: handed to storage (B/event) and written to disk
// (disk_B/event, write_bytes of /proc/self/io, bbolt's pages included). The
// first format runs 50 checks, the current one 5,000 (250,000 events), so
// that the snapshots it writes, a chunk at a time, are in its figure. Run it
// with -benchtime 1x.
func BenchmarkCheckpointBytes(b *testing.B) {
	ctx := context.Background()
	fileClient := func() *countingClient { return newFileClient(b) }
	// measure runs checks checks after the state is written once, and
	// returns the bytes per event handed to storage and written to disk.
	measure := func(l *checkpointLoad, c *countingClient, checks int, after func()) (float64, float64) {
		syscall.Sync()
		stored, disk := c.written, processWriteBytes(b)
		for i := 0; i < checks; i++ {
			l.check(ctx)
			after()
			if i%10 == 9 {
				// Dirty pages written out every 10 checks, so that a page
				// written again counts again (write_bytes counts a page, or
				// its large folio, when it becomes dirty).
				syscall.Sync()
			}
		}
		events := float64(checks * l.perCheck)
		return float64(c.written-stored) / events, float64(processWriteBytes(b)-disk) / events
	}
	for i := 0; i < b.N; i++ {
		legacyClient := fileClient()
		legacy := newCheckpointLoad(b, nil)
		legacy.h.entities.track, legacy.h.jobs.track = true, true
		for id := range legacyBucketKeys() {
			legacy.h.entities.dirty[id], legacy.h.jobs.dirty[id] = struct{}{}, struct{}{}
		}
		require.NoError(b, legacyCheckpoint(ctx, legacy.h, legacyClient)) // everything once
		legacyStored, legacyDisk := measure(legacy, legacyClient, 50, func() {
			require.NoError(b, legacyCheckpoint(ctx, legacy.h, legacyClient))
		})

		client := fileClient()
		current := newCheckpointLoad(b, client)
		current.h.store.needSnapshot = true
		current.h.tick(ctx) // everything once
		gen := current.h.store.index.Gen
		stored, disk := measure(current, client, 5000, func() {})

		b.ReportMetric(legacyStored, "legacy_B/event")
		b.ReportMetric(legacyDisk, "legacy_disk_B/event")
		b.ReportMetric(stored, "B/event")
		b.ReportMetric(disk, "disk_B/event")
		b.ReportMetric(legacyDisk/disk, "legacy/current_disk")
		b.ReportMetric(float64(current.h.store.index.Gen-gen), "snapshots")
		b.ReportMetric(float64(current.h.store.snapshotBytes), "snapshot_B")
	}
}

// newFileClient is a client of the real file_storage extension in a
// directory of the test's.
func newFileClient(b *testing.B) *countingClient {
	ctx := context.Background()
	ext, host := startFileStorage(b, b.TempDir())
	client, err := storageClient(ctx, host, fileStorageID, component.MustNewID("jobhierarchy"))
	require.NoError(b, err)
	b.Cleanup(func() {
		require.NoError(b, client.Close(ctx))
		require.NoError(b, ext.Shutdown(ctx))
	})
	return &countingClient{Client: client}
}

// BenchmarkCheckpoint: one check with its checkpoint into the real
// file_storage extension, with the state at the target size (10,000 open
// jobs of 100 subjobs) and 1,000 events a check (1,000 events/s at the
// shipped check_interval of 1 s), the snapshots written a chunk at a time
// included: time and allocations a check (ns/op, B/op, allocs/op), of which
// the storage transactions (bbolt-µs/op; the rest is the check and the
// encoding), and the bytes handed to storage a check (stored-B/op). The
// traffic between checks is not timed.
func BenchmarkCheckpoint(b *testing.B) {
	ctx := context.Background()
	client := newFileClient(b)
	l := newCheckpointLoad(b, client)
	l.perCheck = 1000
	l.h.store.needSnapshot = true
	l.h.tick(ctx) // everything once
	client.batch, client.written = 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		l.traffic(ctx)
		b.StartTimer()
		l.h.tick(ctx)
	}
	b.ReportMetric(float64(client.batch.Microseconds())/float64(b.N), "bbolt-µs/op")
	b.ReportMetric(float64(client.written)/float64(b.N), "stored-B/op")
}

// legacyBucketKeys returns one key in each of the first format's parts.
func legacyBucketKeys() map[string]struct{} {
	keys := map[string]struct{}{}
	seen := map[int]bool{}
	for i := 0; len(seen) < legacyBuckets; i++ {
		k := strconv.Itoa(i)
		if !seen[bucketOf(k)] {
			seen[bucketOf(k)] = true
			keys[k] = struct{}{}
		}
	}
	return keys
}

// BenchmarkSnapshotChunk: encoding one snapshot chunk with the state at
// the target size (10,000 open jobs of 100 subjobs), from the rows taken
// for every chunk in one walk when the snapshot begins. A check encodes up
// to maxChunksPerCheck chunks, each in a hold of h.mu of its own.
func BenchmarkSnapshotChunk(b *testing.B) {
	l := newCheckpointLoad(b, nil)
	l.h.mu.Lock()
	n := l.h.chunkCount()
	l.h.mu.Unlock()
	size := 0
	l.h.mu.Lock()
	rows := l.h.takeChunkRows(n)
	l.h.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.h.mu.Lock()
		size = len(l.h.encodeChunk(1, i%n, rows, base.UnixNano()))
		l.h.mu.Unlock()
	}
	b.ReportMetric(float64(n), "chunks")
	b.ReportMetric(float64(size), "chunk_B")
}
