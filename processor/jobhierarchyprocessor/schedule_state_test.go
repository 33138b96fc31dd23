package jobhierarchyprocessor

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// storedSchedules is the stored state of a schedule with a counter, a
// success, a late run, a run ahead of its slot and a remembered job.
func storedSchedules(t testing.TB) []byte {
	client := newMemClient()
	hs := newStoredHarness(t, scheduleConfig(everyMinute()), client, base)
	hs.startJob(jobA, "release-1", base.Add(time.Minute+8*time.Second))
	hs.tickAt(base.Add(2 * time.Minute))
	hs.finishJob(jobA, "release-1", semconv.StatusSucceeded, base.Add(2*time.Minute), time.Minute)
	hs.startJob(jobB, "release-9", base.Add(9*time.Minute))
	hs.tickAt(base.Add(3*time.Minute + 20*time.Second))
	require.NotNil(t, client.data[schedulesKey])
	return client.data[schedulesKey]
}

// TestScheduleStateRoundTrip: what is stored reads back as it was.
func TestScheduleStateRoundTrip(t *testing.T) {
	data := storedSchedules(t)
	got, err := decodeSchedules(data)
	require.NoError(t, err)
	st := got["lot-release"]
	assert.Equal(t, int64(2), st.Missed, "slots 2 and 3")
	assert.Equal(t, base.UnixNano(), st.CounterStart)
	assert.Equal(t, base.Add(2*time.Minute).UnixNano(), st.LastSuccess)
	assert.Equal(t, base.Add(4*time.Minute).UnixNano(), st.Next)
	assert.Equal(t, []string{jobA, jobB}, st.Recent)
	assert.Equal(t, jobB, st.Runs[base.Add(9*time.Minute).UnixNano()].JobID)
	assert.Equal(t, "litho-scheduler", st.Runs[base.Add(9*time.Minute).UnixNano()].Res.ServiceName)
	assert.Equal(t, jobB, st.Last.JobID)
	s, err := newSchedule(everyMinute())
	require.NoError(t, err)
	s.st = st
	assert.Equal(t, data, encodeSchedules([]*schedule{s}))

	for i := 1; i < len(data); i++ {
		_, err := decodeSchedules(data[:i])
		assert.ErrorIs(t, err, errDamaged, "torn after %d bytes", i)
	}
}

// FuzzRestoreSchedules stores arbitrary bytes as the schedules' state and
// starts and runs the processor on them for two days: a damaged or hostile
// state never crashes it. Seeds are in testdata/fuzz/FuzzRestoreSchedules.
func FuzzRestoreSchedules(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		client := newMemClient()
		client.data[schedulesKey] = data
		hs := newStoredHarness(t, scheduleConfig(everyMinute()), client, base)
		hs.startJob(jobA, "release-1", base.Add(time.Minute))
		hs.tickAt(base.Add(48 * time.Hour))
		if got, err := decodeSchedules(data); err == nil {
			list := make([]*schedule, 0, len(got))
			for _, name := range slices.Sorted(mapsKeys(got)) {
				c := everyMinute()
				c.Name = name
				s, err := newSchedule(c)
				require.NoError(t, err)
				s.st = got[name]
				list = append(list, s)
			}
			again, err := decodeSchedules(encodeSchedules(list))
			require.NoError(t, err)
			require.Equal(t, len(got), len(again))
		}
	})
}

// FuzzParseCron: any expression parses or fails cleanly, and the slots of
// one that parses always move forward.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "*/15 * * * *", "0 0 29 2 *", "30 2 * * 1-5", "@daily", "59 23 31 12 *", "0,30 2 * * sun"} {
		f.Add(s, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		c, err := parseCron(expr, loc)
		if err != nil {
			return
		}
		at := base
		for i := 0; i < 5; i++ {
			next := c.after(at)
			if next.IsZero() {
				return
			}
			require.True(t, next.After(at), "%q after %s: %s", expr, at, next)
			at = next
		}
	})
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestScheduleFuzzSeedIsValid keeps the committed valid seed meaningful.
func TestScheduleFuzzSeedIsValid(t *testing.T) {
	assert.True(t, bytes.Contains(storedSchedules(t), []byte("lot-release")))
}
