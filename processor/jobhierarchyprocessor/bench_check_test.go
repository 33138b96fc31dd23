package jobhierarchyprocessor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// checkBench is a processor holding n open subjobs (100,000 is the
// default cap) matched against two rules, none of them due.
func checkBench(b *testing.B, n int) *hierarchy {
	cfg := testConfig()
	cfg.MaxOpenEntities = max(cfg.MaxOpenEntities, n)
	cfg.Watchdog.Rules = []WatchdogRule{
		{ServiceName: "etch-.*", MaxDuration: time.Hour},
		{BusinessKey: "lot-9.*", EntityType: semconv.EntityTypeSubjob, StallTimeout: time.Minute},
	}
	h, err := newHierarchy(cfg, processortest.NewNopSettings(metadata.Type))
	require.NoError(b, err)
	b.Cleanup(h.telemetry.Shutdown)
	h.now = func() time.Time { return base }
	h.nextLogs, h.nextTraces = consumertest.NewNop(), consumertest.NewNop()
	for j := 0; j < n; j += 100 {
		ld, records := newRecords()
		for r := j; r < j+100; r++ {
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(r), parent: benchJobID(r / 100), bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
		}
		_, _ = h.processLogs(context.Background(), ld)
	}
	require.Equal(b, n, h.entities.len())
	return h
}

// checkSizes are the open entities of BenchmarkCheck and BenchmarkReport.
var checkSizes = []int{10000, 100000}

// runCheckVariants runs fn as a sub-benchmark for each size, with the
// check by the due index (open=N) and looking at every entry
// (open=N_full_walk), and returns the time an operation took in each.
func runCheckVariants(b *testing.B, fn func(b *testing.B, h *hierarchy, n int)) map[int]map[bool]float64 {
	perOp := map[int]map[bool]float64{}
	for _, n := range checkSizes {
		perOp[n] = map[bool]float64{}
		for _, full := range []bool{false, true} {
			name := fmt.Sprintf("open=%d", n)
			if full {
				name += "_full_walk"
			}
			b.Run(name, func(b *testing.B) {
				h := checkBench(b, n)
				h.fullWalk = full
				fn(b, h, n)
				perOp[n][full] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			})
		}
	}
	return perOp
}

// BenchmarkCheck: one periodic check over 10,000 and 100,000 open
// entities, none of them due: by the due index (open=N), and looking at
// every entry as the peer (open=N_full_walk). The check by the index costs
// what is due, not what is open.
func BenchmarkCheck(b *testing.B) {
	perCheck := runCheckVariants(b, func(b *testing.B, h *hierarchy, _ int) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h.tick(context.Background())
		}
	})
	for n, t := range perCheck {
		if t[false] > 0 && t[true] > 0 {
			b.Logf("open=%d: %.0f ns a check by the due index, %.0f ns over every entry (%.0f×)", n, t[false], t[true], t[true]/t[false])
			require.Less(b, t[false], t[true]/20, "a check by the due index costs a fraction of a walk over every entry")
		}
	}
}

// BenchmarkCheckWithTraffic: a second of traffic and its check, over
// 10,000 and 100,000 open entities, 1,000 of them reporting a second in
// turn (each every 10 or 100 s): none stalls (stall_timeout 15 m), and
// after 1,000 s of warm-up each comes due once every 800-900 s, at the
// stall time of the report it was filed by, and is filed again. By the due
// index (open=N) and looking at every entry as the peer (open=N_full_walk),
// in the same run: the difference is what the check costs. Run it with
// -benchtime 300x.
func BenchmarkCheckWithTraffic(b *testing.B) {
	runCheckVariants(b, func(b *testing.B, h *hierarchy, n int) {
		now := base
		h.now = func() time.Time { return now }
		batches := make([]plog.Logs, n/1000)
		for i := range batches {
			ld, records := newRecords()
			for id := i * 1000; id < (i+1)*1000; id++ {
				addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(id), parent: benchJobID(id / 100), bk: "lot-4711", kind: semconv.KindProgress, status: semconv.StatusRunning, at: base})
			}
			batches[i] = ld
		}
		second := func(i int) {
			now = now.Add(time.Second)
			_, _ = h.processLogs(context.Background(), batches[i%len(batches)])
			h.tick(context.Background())
		}
		for i := 0; i < 1000; i++ {
			second(i)
		}
		require.Equal(b, n, h.entities.len())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			second(i)
		}
	})
}

// BenchmarkReport: one progress report of an open subjob, with 10,000 and
// 100,000 open entities.
func BenchmarkReport(b *testing.B) {
	for _, n := range checkSizes {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			h := checkBench(b, n)
			batches := make([]plog.Logs, 1000)
			for i := range batches {
				ld, records := newRecords()
				addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(i * (n / len(batches))), parent: benchJobID(i), bk: "lot-4711", kind: semconv.KindProgress, status: semconv.StatusRunning, at: base})
				batches[i] = ld
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _ = h.processLogs(context.Background(), batches[i%len(batches)])
			}
		})
	}
}

// checkPieces are the sizes of the pieces a check holds h.mu for: the
// shipped one, and the whole table at once as the peer.
var checkPieces = []struct {
	name  string
	chunk int
}{{"pieces_of_1000", checkChunk}, {"whole_table", math.MaxInt}}

// BenchmarkCheckLongestHold: the longest time a check that looks at
// 100,000 entries (every open entity, as after a downtime that made them
// all due) holds h.mu at once, which is how long a report arriving during
// the check may wait for it: the median over the checks of each check's
// longest hold (longest-hold-µs; the median, as a busy machine preempts some
// holds), the longest of all, and the total held per check.
func BenchmarkCheckLongestHold(b *testing.B) {
	longest := map[string]time.Duration{}
	for _, p := range checkPieces {
		b.Run(p.name, func(b *testing.B) {
			h := checkBench(b, 100000)
			h.checkChunk = p.chunk
			h.fullWalk = true
			var held, total time.Duration
			h.pieceHook = func(d time.Duration) {
				held = max(held, d)
				total += d
			}
			perCheck := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				held = 0
				h.tick(context.Background())
				perCheck = append(perCheck, held)
			}
			slices.Sort(perCheck)
			median := perCheck[len(perCheck)/2]
			b.ReportMetric(float64(median.Microseconds()), "longest-hold-µs")
			b.ReportMetric(float64(perCheck[len(perCheck)-1].Microseconds()), "max-hold-µs")
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "held-µs/op")
			longest[p.name] = median
		})
	}
	if pieces, whole := longest["pieces_of_1000"], longest["whole_table"]; pieces > 0 && whole > 0 {
		b.Logf("longest hold (median of checks): %s in pieces of 1,000, %s for the whole table (%.1f×)", pieces, whole, float64(whole)/float64(pieces))
		require.Less(b, pieces, whole/5, "a check in pieces holds h.mu at once for a fraction of the whole sweep")
	}
}
