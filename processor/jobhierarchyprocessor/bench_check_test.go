package jobhierarchyprocessor

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// checkBench is a processor holding 100,000 open entities (the default
// cap) matched against two rules, none of them due.
func checkBench(b *testing.B) *hierarchy {
	cfg := testConfig()
	cfg.Watchdog.Rules = []WatchdogRule{
		{ServiceName: "etch-.*", MaxDuration: time.Hour},
		{BusinessKey: "lot-9.*", EntityType: semconv.EntityTypeSubjob, StallTimeout: time.Minute},
	}
	h, err := newHierarchy(cfg, processortest.NewNopSettings(metadata.Type))
	require.NoError(b, err)
	b.Cleanup(h.telemetry.Shutdown)
	h.now = func() time.Time { return base }
	h.nextLogs, h.nextTraces = consumertest.NewNop(), consumertest.NewNop()
	for j := 0; j < cfg.MaxOpenEntities; j += 100 {
		ld, records := newRecords()
		for r := j; r < j+100; r++ {
			addRecord(records, recordSpec{typ: semconv.EntityTypeSubjob, id: benchSubjobID(r), parent: benchJobID(r / 100), bk: "lot-4711", kind: semconv.KindStarted, status: semconv.StatusRunning, at: base})
		}
		_, _ = h.processLogs(context.Background(), ld)
	}
	require.Equal(b, cfg.MaxOpenEntities, h.entities.len())
	return h
}

// checkPieces are the sizes of the pieces a check holds h.mu for: the
// shipped one, and the whole table at once as the peer.
var checkPieces = []struct {
	name  string
	chunk int
}{{"pieces_of_1000", checkChunk}, {"whole_table", math.MaxInt}}

// BenchmarkCheck: one periodic check over 100,000 open entities.
func BenchmarkCheck(b *testing.B) {
	for _, p := range checkPieces {
		b.Run(p.name, func(b *testing.B) {
			h := checkBench(b)
			h.checkChunk = p.chunk
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.tick(context.Background())
			}
		})
	}
}

// BenchmarkCheckLongestHold: the longest time a check over 100,000 open
// entities holds h.mu at once, which is how long a report arriving during
// the check may wait for it: the median over the checks of each check's
// longest hold (longest-hold-µs; the median, as a busy machine preempts some
// holds), the longest of all, and the total held per check.
func BenchmarkCheckLongestHold(b *testing.B) {
	longest := map[string]time.Duration{}
	for _, p := range checkPieces {
		b.Run(p.name, func(b *testing.B) {
			h := checkBench(b)
			h.checkChunk = p.chunk
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
