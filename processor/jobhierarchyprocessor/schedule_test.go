package jobhierarchyprocessor

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// everyMinute is a schedule of litho-scheduler's lot-release jobs at fab1,
// every minute, with 10 s of grace (late from 5 s on).
func everyMinute() ScheduleConfig {
	return ScheduleConfig{Name: "lot-release", Every: time.Minute, Grace: 10 * time.Second,
		Match: ScheduleMatch{Service: "litho-*", BusinessKey: "release-*", Site: "fab1"}}
}

func scheduleConfig(schedules ...ScheduleConfig) *Config {
	cfg := testConfig()
	cfg.Schedules = schedules
	return cfg
}

// startJob sends a job's started record with the client's time at.
func (hs *harness) startJob(id, bk string, at time.Time) {
	ld, records := newRecords()
	addRecord(records, recordSpec{typ: semconv.EntityTypeJob, id: id, bk: bk, kind: semconv.KindStarted, status: semconv.StatusRunning, at: at})
	hs.consumeLogs(ld)
}

// finishJob sends a job's span, ended at end after running for d.
func (hs *harness) finishJob(id, bk, status string, end time.Time, d time.Duration) {
	td, spans := newSpans()
	addSpan(spans, spanSpec{typ: semconv.EntityTypeJob, id: id, bk: bk, status: status, end: end, metrics: map[string]float64{semconv.MetricKeyDurationS: d.Seconds()}})
	hs.consumeTraces(td)
}

// tickAt moves the clock to at and runs a check.
func (hs *harness) tickAt(at time.Time) {
	hs.clock.mu.Lock()
	hs.clock.t = at
	hs.clock.mu.Unlock()
	hs.tick()
}

// scheduleEvents are the emitted records of a kind.
func (hs *harness) scheduleEvents(kind string) []plog.LogRecord {
	var out []plog.LogRecord
	all := hs.allLogs()
	for i := 0; i < all.ResourceLogs().Len(); i++ {
		sls := all.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if v, ok := lrs.At(k).Attributes().Get(semconv.AttrEventKind); ok && v.Str() == kind {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// scheduleSeries reads the latest value of each schedule series by metric
// and schedule name.
func (hs *harness) scheduleSeries() map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, md := range hs.msink.AllMetrics() {
		ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		for i := 0; i < ms.Len(); i++ {
			m := ms.At(i)
			var dps pmetric.NumberDataPointSlice
			if m.Type() == pmetric.MetricTypeSum {
				dps = m.Sum().DataPoints()
			} else {
				dps = m.Gauge().DataPoints()
			}
			for j := 0; j < dps.Len(); j++ {
				dp := dps.At(j)
				name, _ := dp.Attributes().Get(semconv.MetricAttrSchedule)
				if out[m.Name()] == nil {
					out[m.Name()] = map[string]float64{}
				}
				v := dp.DoubleValue()
				if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
					v = float64(dp.IntValue())
				}
				out[m.Name()][name.Str()] = v
			}
		}
	}
	return out
}

func missedID(name string, slot time.Time) string {
	return uuid.UUID(ids.FromName("schedule " + name + " " + slot.UTC().Format(time.RFC3339Nano))).String()
}

// TestScheduleOnTimeLateMissed: one slot with a run in time, one with a
// late run, one without a run; only runs of matching jobs count.
func TestScheduleOnTimeLateMissed(t *testing.T) {
	hs := newHarness(t, scheduleConfig(everyMinute()), nil)
	slot1, slot2, slot3 := base.Add(time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute)

	hs.startJob(jobA, "release-1", slot1.Add(2*time.Second))
	hs.tickAt(slot1.Add(20 * time.Second)) // the slot's grace and arrival allowance have passed
	hs.tickAt(slot1.Add(45 * time.Second))
	hs.finishJob(jobA, "release-1", semconv.StatusSucceeded, slot1.Add(40*time.Second), 38*time.Second)

	// Not a run: another business key; then the run, 8 s late.
	hs.startJob(jobB, "other", slot2)
	hs.startJob("c1b2c3d4-e5f6-4789-8abc-def012345678", "release-2", slot2.Add(8*time.Second))
	hs.tickAt(slot2.Add(20 * time.Second))
	hs.tickAt(slot3.Add(19 * time.Second))
	assert.Empty(t, hs.scheduleEvents(semconv.KindMissed), "not before the slot's grace and arrival allowance")
	hs.tickAt(slot3.Add(20 * time.Second))

	late := hs.scheduleEvents(semconv.KindLateStart)
	require.Len(t, late, 1)
	la := late[0].Attributes().AsRaw()
	assert.Equal(t, "c1b2c3d4-e5f6-4789-8abc-def012345678", la[semconv.AttrEntityID])
	assert.Equal(t, "lot-release", la[semconv.AttrScheduleName])
	assert.Equal(t, "2025-10-19T12:02:00Z", la[semconv.AttrScheduleSlot])
	assert.InDelta(t, 8.0, la[semconv.AttrScheduleLateS], 1e-9)
	assert.Equal(t, slot2.Add(8*time.Second), late[0].Timestamp().AsTime(), "the time the run started")
	assert.Equal(t, "WARN", late[0].SeverityText())

	missed := hs.scheduleEvents(semconv.KindMissed)
	require.Len(t, missed, 1)
	m := missed[0]
	ma := m.Attributes().AsRaw()
	assert.Equal(t, missedID("lot-release", slot3), ma[semconv.AttrEntityID])
	assert.Equal(t, semconv.EntityTypeJob, ma[semconv.AttrEntityType])
	assert.Equal(t, semconv.StatusMissed, ma[semconv.AttrStatus])
	assert.Equal(t, "lot-release", ma[semconv.AttrBusinessKey], "the schedule's name: the match's business key is a pattern")
	assert.Equal(t, "2025-10-19T12:03:00Z", ma[semconv.AttrScheduleSlot])
	assert.Equal(t, map[string]any{"schedule": "lot-release", "slot": "2025-10-19T12:03:00Z", "grace_s": 10.0}, ma[semconv.AttrMetadata])
	assert.Equal(t, "derived:"+missedID("lot-release", slot3)+":missed:"+itoa(slot3.Add(10*time.Second).UnixNano()), ma[semconv.AttrIdempotencyKey])
	assert.Equal(t, slot3.Add(10*time.Second), m.Timestamp().AsTime(), "the end of the slot's grace")
	assert.Equal(t, "ERROR", m.SeverityText())
	assert.Equal(t, "wafer.job.missed", m.EventName())
	res := hs.allLogs().ResourceLogs()
	var site, svc string
	for i := 0; i < res.Len(); i++ {
		if res.At(i).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()[semconv.AttrEventKind] == semconv.KindMissed {
			a := res.At(i).Resource().Attributes().AsRaw()
			site, svc = a[semconv.AttrSiteID].(string), a[semconv.AttrServiceName].(string)
		}
	}
	assert.Equal(t, "fab1", site, "the match's site")
	assert.Equal(t, "litho-scheduler", svc, "the last run's application")

	series := hs.scheduleSeries()
	assert.Equal(t, map[string]float64{"lot-release": 1}, series[semconv.MetricScheduleMissed])
	assert.Equal(t, map[string]float64{"lot-release": 8}, series[semconv.MetricScheduleLateStart])
	assert.Equal(t, map[string]float64{"lot-release": float64(slot1.Add(40 * time.Second).Unix())}, series[semconv.MetricScheduleLastSuccess])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestScheduleRunCountedOnce: a run reported twice (a retried request, its
// span) takes one slot; the next run takes the next slot, even when it
// starts a little early (a scheduler's clock running ahead); a run outside
// every slot's window takes none.
func TestScheduleRunCountedOnce(t *testing.T) {
	hs := newHarness(t, scheduleConfig(everyMinute()), nil)
	slot1, slot2, slot3 := base.Add(time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute)
	hs.startJob(jobA, "release-1", slot1.Add(7*time.Second))
	hs.startJob(jobA, "release-1", slot1.Add(7*time.Second))
	hs.tickAt(slot1.Add(50 * time.Second))
	hs.finishJob(jobA, "release-1", semconv.StatusSucceeded, slot1.Add(50*time.Second), 43*time.Second)
	hs.startJob(jobB, "release-2", slot2.Add(-4*time.Second))
	hs.startJob("c1b2c3d4-e5f6-4789-8abc-def012345678", "release-3", slot3.Add(30*time.Second))
	hs.tickAt(slot3.Add(20 * time.Second))

	assert.Len(t, hs.scheduleEvents(semconv.KindLateStart), 1, "the late run once")
	missed := hs.scheduleEvents(semconv.KindMissed)
	require.Len(t, missed, 1, "slot 3: its only job started 30 s after it, past the grace")
	assert.Equal(t, missedID("lot-release", slot3), missed[0].Attributes().AsRaw()[semconv.AttrEntityID])
	assert.Equal(t, map[string]float64{"lot-release": 0}, hs.scheduleSeries()[semconv.MetricScheduleLateStart], "the early run of slot 2 is the latest")
}

// TestScheduleGraceOverMidnight: a daily slot at 23:50 with 30 minutes of
// grace takes a run at 00:10 the next day; the next day's slot, without a
// run, is missed after midnight.
func TestScheduleGraceOverMidnight(t *testing.T) {
	hs := newHarness(t, scheduleConfig(ScheduleConfig{Name: "nightly", Cron: "50 23 * * *", Timezone: "Europe/Berlin", Grace: 30 * time.Minute,
		Match: ScheduleMatch{BusinessKey: "nightly"}}), nil)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	slot := time.Date(2025, 10, 19, 23, 50, 0, 0, berlin)
	hs.startJob(jobA, "nightly", time.Date(2025, 10, 20, 0, 10, 0, 0, berlin))
	hs.tickAt(slot.Add(30*time.Minute + 10*time.Second))
	hs.tickAt(slot.Add(24*time.Hour + 30*time.Minute + 9*time.Second))
	assert.Empty(t, hs.scheduleEvents(semconv.KindMissed))
	late := hs.scheduleEvents(semconv.KindLateStart)
	require.Len(t, late, 1)
	assert.InDelta(t, 1200.0, late[0].Attributes().AsRaw()[semconv.AttrScheduleLateS], 1e-9)
	assert.Contains(t, late[0].Body().Str(), "2025-10-19T23:50:00+02:00", "the slot in the schedule's time zone")

	hs.tickAt(slot.Add(24*time.Hour + 30*time.Minute + 10*time.Second))
	missed := hs.scheduleEvents(semconv.KindMissed)
	require.Len(t, missed, 1)
	assert.Equal(t, "2025-10-20T21:50:00Z", missed[0].Attributes().AsRaw()[semconv.AttrScheduleSlot])
	assert.Equal(t, "nightly", missed[0].Attributes().AsRaw()[semconv.AttrBusinessKey], "the match's business key")
}

// TestScheduleCatchUpAfterRestart: the slots that passed while the collector
// was down are decided a grace after it starts again, with the runs that a
// client's spool delivers by then; the missed counter goes on from where it
// was.
func TestScheduleCatchUpAfterRestart(t *testing.T) {
	client := newMemClient()
	cfg := scheduleConfig(everyMinute())
	hs := newStoredHarness(t, cfg, client, base)
	slot := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }
	hs.tickAt(slot(1).Add(20 * time.Second)) // slot 1: no run, missed
	require.Len(t, hs.scheduleEvents(semconv.KindMissed), 1)
	hs.startJob(jobA, "release-7", slot(7).Add(time.Second)) // reported ahead of its slot
	hs.tickAt(slot(1).Add(30 * time.Second))
	hs.shutdown()

	// Down from 12:01:30 to 12:10:00: slots 2 to 9 pass.
	hs = newStoredHarness(t, scheduleConfig(everyMinute()), client, slot(10))
	hs.startJob(jobB, "release-5", slot(5).Add(2*time.Second)) // from a client's spool
	hs.tickAt(slot(10).Add(19 * time.Second))
	assert.Empty(t, hs.scheduleEvents(semconv.KindMissed), "held for a grace and the arrival allowance after the start")
	hs.tickAt(slot(10).Add(20 * time.Second))
	var slots []string
	for _, m := range hs.scheduleEvents(semconv.KindMissed) {
		slots = append(slots, m.Attributes().AsRaw()[semconv.AttrScheduleSlot].(string))
	}
	assert.Equal(t, []string{"2025-10-19T12:02:00Z", "2025-10-19T12:03:00Z", "2025-10-19T12:04:00Z", "2025-10-19T12:06:00Z",
		"2025-10-19T12:08:00Z", "2025-10-19T12:09:00Z", "2025-10-19T12:10:00Z"}, slots)
	assert.Equal(t, map[string]float64{"lot-release": 8}, hs.scheduleSeries()[semconv.MetricScheduleMissed], "1 before the stop, 7 after")
}

// TestScheduleCrashRepeatsTheSameEvent: a crash after a missed event was
// sent and before the state was written reports the slot again after the
// restart, as the same event: same entity, time and idempotency key, which
// the exporters' and backends' deduplication recognise.
func TestScheduleCrashRepeatsTheSameEvent(t *testing.T) {
	client := newMemClient()
	hs := newStoredHarness(t, scheduleConfig(everyMinute()), client, base)
	hs.tickAt(base.Add(30 * time.Second)) // stored: slot 1 undecided
	crashed := client.crashCopy()
	hs.tickAt(base.Add(80 * time.Second)) // slot 1 missed
	before := hs.scheduleEvents(semconv.KindMissed)
	require.Len(t, before, 1)

	hs2 := newStoredHarness(t, scheduleConfig(everyMinute()), crashed, base.Add(90*time.Second))
	hs2.tickAt(base.Add(110 * time.Second))
	after := hs2.scheduleEvents(semconv.KindMissed)
	require.Len(t, after, 1)
	for _, key := range []string{semconv.AttrEntityID, semconv.AttrIdempotencyKey, semconv.AttrScheduleSlot} {
		assert.Equal(t, before[0].Attributes().AsRaw()[key], after[0].Attributes().AsRaw()[key], key)
	}
	assert.Equal(t, before[0].Timestamp(), after[0].Timestamp())
	assert.Equal(t, before[0].TraceID(), after[0].TraceID())
}

// TestScheduleChangedKeepsSeries: a schedule whose slots changed starts its
// slots afresh; its counter goes on.
func TestScheduleChangedKeepsSeries(t *testing.T) {
	client := newMemClient()
	hs := newStoredHarness(t, scheduleConfig(everyMinute()), client, base)
	hs.tickAt(base.Add(80 * time.Second))
	hs.shutdown()
	changed := everyMinute()
	changed.Every = 5 * time.Minute
	hs = newStoredHarness(t, scheduleConfig(changed), client, base.Add(10*time.Minute))
	hs.tickAt(base.Add(10*time.Minute + 19*time.Second))
	assert.Empty(t, hs.scheduleEvents(semconv.KindMissed), "the slots of the old interval are not checked")
	assert.Equal(t, map[string]float64{"lot-release": 1}, hs.scheduleSeries()[semconv.MetricScheduleMissed])
	hs.tickAt(base.Add(15*time.Minute + 20*time.Second))
	require.Len(t, hs.scheduleEvents(semconv.KindMissed), 1)
	assert.Equal(t, "2025-10-19T12:15:00Z", hs.scheduleEvents(semconv.KindMissed)[0].Attributes().AsRaw()[semconv.AttrScheduleSlot])
}

// TestScheduleMaxRuntime: a run of a schedule with max_runtime is given up
// after it, not after the watchdog's max_duration.
func TestScheduleMaxRuntime(t *testing.T) {
	sc := everyMinute()
	sc.MaxRuntime = 30 * time.Minute
	hs := newHarness(t, scheduleConfig(sc), nil)
	hs.startJob(jobA, "release-1", base.Add(time.Minute))
	hs.startJob(jobB, "other", base.Add(time.Minute))
	hs.tickAt(base.Add(30*time.Minute + time.Second))
	timeouts := hs.scheduleEvents(semconv.KindTimeout)
	require.Len(t, timeouts, 1)
	assert.Equal(t, jobA, timeouts[0].Attributes().AsRaw()[semconv.AttrEntityID])
	assert.InDelta(t, 1800.0, timeouts[0].Attributes().AsRaw()[semconv.AttrWatchdogLimitS], 1e-9)
}

// TestScheduleSeriesRefresh: the series are sent when they change and at
// least every minute, not at every check.
func TestScheduleSeriesRefresh(t *testing.T) {
	hs := newHarness(t, scheduleConfig(everyMinute()), nil)
	hs.tickAt(base.Add(time.Second))
	hs.tickAt(base.Add(2 * time.Second))
	hs.tickAt(base.Add(59 * time.Second))
	assert.Len(t, hs.msink.AllMetrics(), 1, "at the first check only")
	hs.tickAt(base.Add(80 * time.Second)) // slot 1 missed
	assert.Len(t, hs.msink.AllMetrics(), 2)
	hs.tickAt(base.Add(140 * time.Second))
	hs.tickAt(base.Add(141 * time.Second))
	assert.Len(t, hs.msink.AllMetrics(), 3, "a minute after the last")
	md := hs.msink.AllMetrics()[0]
	names := []string{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		names = append(names, ms.At(i).Name())
	}
	assert.Equal(t, []string{semconv.MetricScheduleMissed}, names, "no run and no success yet: only the counter, at 0")
	assert.Equal(t, base.UnixNano(), int64(ms.At(0).Sum().DataPoints().At(0).StartTimestamp()))
}

// TestScheduleLongDowntime: after a stop of a week, an every-second
// schedule checks its last 100 slots, quickly.
func TestScheduleLongDowntime(t *testing.T) {
	client := newMemClient()
	sc := everyMinute()
	sc.Every = time.Second
	hs := newStoredHarness(t, scheduleConfig(sc), client, base)
	hs.tickAt(base.Add(time.Second))
	hs.shutdown()
	week := base.Add(7 * 24 * time.Hour)
	hs = newStoredHarness(t, scheduleConfig(sc), client, week)
	hs.tickAt(week.Add(20 * time.Second))
	missed := hs.scheduleEvents(semconv.KindMissed)
	// Due at the start: the slots up to 20 s (grace and allowance) before
	// it, the last 100 of them checked; by the check 20 s later, those up
	// to the start too.
	require.Len(t, missed, maxCatchUpSlots+20)
	assert.Equal(t, week.Add(-119*time.Second).UTC().Format(time.RFC3339Nano), missed[0].Attributes().AsRaw()[semconv.AttrScheduleSlot])
	assert.Equal(t, week.UTC().Format(time.RFC3339Nano), missed[len(missed)-1].Attributes().AsRaw()[semconv.AttrScheduleSlot])
}

// TestScheduleDowntimeIrregularCron: a cron whose slots come in bursts (five
// a minute apart, then none for a day) resumes after a downtime longer than
// 200 of its first period: the slots of the last 100 are checked, none
// skipped because the first period was short, and a restart before any slot
// is due does not crash (it once indexed an empty list of due slots).
func TestScheduleDowntimeIrregularCron(t *testing.T) {
	day := time.Date(2025, 10, 19, 0, 0, 0, 0, time.UTC)
	sc := everyMinute()
	sc.Every, sc.Cron, sc.Grace = 0, "0-4 2 * * *", 2*time.Hour
	for _, tc := range []struct {
		name      string
		restart   time.Time
		missed    int
		firstSlot time.Time
	}{
		// Down from 01:00 to 03:00 the next day: yesterday's five slots and,
		// decided after the grace, today's.
		{"a day", day.Add(27 * time.Hour), 10, day.Add(2 * time.Hour)},
		// Down for 60 days: 300 slots passed, the last 100 (20 days) checked.
		{"60 days", day.Add(60*24*time.Hour + 3*time.Hour), maxCatchUpSlots + 5, day.Add(40*24*time.Hour + 2*time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newMemClient()
			hs := newStoredHarness(t, scheduleConfig(sc), client, day.Add(time.Hour))
			hs.tickAt(day.Add(time.Hour + time.Second))
			hs.shutdown()
			hs = newStoredHarness(t, scheduleConfig(sc), client, tc.restart)
			hs.tickAt(tc.restart.Add(sc.Grace + arrivalAllowance + time.Second))
			missed := hs.scheduleEvents(semconv.KindMissed)
			require.Len(t, missed, tc.missed)
			assert.Equal(t, tc.firstSlot.Format(time.RFC3339Nano), missed[0].Attributes().AsRaw()[semconv.AttrScheduleSlot])
		})
	}
}
