package jobhierarchyprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func downtimeConfig() *Config {
	cfg := storageConfig()
	cfg.Watchdog.StallTimeout = 15 * time.Minute
	cfg.Watchdog.MaxDuration = time.Hour
	return cfg
}

// TestDowntimeIsNotSilence: a job that reported 10 minutes before the
// collector stopped, with a stall timeout of 15 minutes, stalls 5 minutes of
// running after the restart, whatever the time the collector was down; its
// maximum duration counts running time only as well.
func TestDowntimeIsNotSilence(t *testing.T) {
	for name, stop := range map[string]func(hs *harness, client *memClient) *memClient{
		// A shutdown writes the time of the stop.
		"shutdown": func(hs *harness, client *memClient) *memClient {
			hs.shutdown()
			return client.crashCopy()
		},
		// A crash: the last write of the running processor tells, here a
		// heartbeat at the last check.
		"crash": func(_ *harness, client *memClient) *memClient { return client.crashCopy() },
	} {
		t.Run(name, func(t *testing.T) {
			client := newMemClient()
			first := newStoredHarness(t, downtimeConfig(), client, base)
			first.consumeLogs(started(semconv.EntityTypeJob, jobA, "", base))
			first.tick()
			first.clock.advance(10 * time.Minute)
			first.h.store.lastWrite = time.Time{} // the heartbeat is due
			first.tick()
			stored := stop(first, client)

			// Down for three hours.
			restart := base.Add(10*time.Minute + 3*time.Hour)
			second := newStoredHarness(t, downtimeConfig(), stored, restart)
			second.tick()
			assert.Empty(t, syntheticRecords(second.allLogs()), "no stall at the restart")
			second.clock.advance(5*time.Minute - time.Second)
			second.tick()
			assert.Empty(t, syntheticRecords(second.allLogs()))
			second.clock.advance(time.Second)
			second.tick()
			records := syntheticRecords(second.allLogs())
			require.Equal(t, []string{"stalled " + jobA}, kinds(records))
			assert.Equal(t, 900.0, records[0].Attributes().AsRaw()[semconv.AttrWatchdogSilenceS], "silence while running")

			// Open for 10 minutes before the stop: given up 50 minutes of
			// running after the restart.
			second.clock.advance(45*time.Minute - time.Second)
			second.tick()
			assert.Len(t, syntheticRecords(second.allLogs()), 1)
			second.clock.advance(time.Second)
			second.tick()
			records = syntheticRecords(second.allLogs())
			require.Equal(t, []string{"stalled " + jobA, "timeout " + jobA}, kinds(records))
			attrs := records[1].Attributes().AsRaw()
			assert.Equal(t, (3*time.Hour + time.Hour).Seconds(), attrs[semconv.AttrWatchdogRunningS], "running_s is the time since first seen")
			assert.Contains(t, attrs[semconv.AttrErrorMessage], "not counting 3h0m0s while the collector was down")
			span := jobSpanOf(second.allTraces(), jobA)
			assert.Equal(t, pcommonTimestamp(base), span.StartTimestamp())
		})
	}
}

// TestDowntimeDelaysOrphanReports: the orphan timeout counts running time
// too, so subjobs whose job reports after a restart are not called orphans.
func TestDowntimeDelaysOrphanReports(t *testing.T) {
	client := newMemClient()
	first := newStoredHarness(t, downtimeConfig(), client, base)
	first.consumeTraces(jobBSubjobs())
	first.clock.advance(5 * time.Minute)
	first.shutdown()

	second := newStoredHarness(t, downtimeConfig(), client.crashCopy(), base.Add(time.Hour))
	second.tick()
	assert.Empty(t, syntheticRecords(second.allLogs()))
	second.consumeTraces(jobBSpan())
	jobB := jobSpanOf(second.allTraces(), jobB)
	assert.Equal(t, int64(1), jobB.Attributes().AsRaw()[semconv.AttrSubjobsTotal])
}
