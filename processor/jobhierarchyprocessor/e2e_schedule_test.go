package jobhierarchyprocessor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Four schedules every 5 s, added to otelcol-config.yaml in a second file as
// a user does.
const e2eSchedules = `
processors:
  jobhierarchy:
    schedules:
      - {name: ontime, every: 5s, grace: 4s, match: {service: litho-scheduler, business_key: sched-ontime, site: fab1}}
      - {name: late, every: 5s, grace: 4s, match: {service: litho-scheduler, business_key: sched-late, site: fab1}}
      - {name: missed, every: 5s, grace: 4s, match: {service: litho-scheduler, business_key: sched-missed, site: fab1}}
      - {name: restart, every: 5s, grace: 4s, match: {service: litho-scheduler, business_key: sched-restart, site: fab1}}
`

const e2eEvery, e2eGrace = 5 * time.Second, 4 * time.Second

// e2eDecided is when the processor decides a slot: its grace and the
// arrival allowance after it.
func e2eDecided(slot time.Time) time.Time { return slot.Add(e2eGrace + arrivalAllowance) }

// schedEvent is a v1 event of a job of litho-scheduler at fab1 at the time at.
func schedEvent(id, bk, kind, status string, at time.Time, metrics string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte("{"+metrics+"}"), &m)
	return map[string]any{
		"idempotency_key": uuid.NewString(), "site_id": "fab1",
		"app":    map[string]any{"name": "litho-scheduler", "version": "1.4.2"},
		"entity": map[string]any{"type": "job", "id": id, "business_key": bk},
		"event":  map[string]any{"kind": kind, "at": at.UTC().Format(time.RFC3339Nano), "status": status, "metrics": m},
	}
}

// TestSchedulesEndToEnd runs otelcol-config.yaml with four schedules every
// 5 s: one whose runs all start in time, one with a run 2.5 s late, one with
// a slot without a run, one with a slot without a run that passes while the
// collector is stopped. Clients report the runs ahead of their slots (their
// start times are the slots'), so that how fast this machine is does not
// matter. Each missed slot and the late start appears exactly once in the
// CSV event files and in the series on :8889, across the restart, and no
// other slot is missed.
func TestSchedulesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	defaults, err := filepath.Abs(filepath.Join("..", "..", "otelcol-config.yaml"))
	require.NoError(t, err)
	dataDir := t.TempDir()
	env, ports := testcollector.DefaultConfigEnv(t, testcollector.DefaultConfig(t), dataDir)
	v1 := fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_V1_ENDPOINT"])
	jobMetrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["WAFERMONITOR_PROMETHEUS_ENDPOINT"])
	opts := testcollector.Options{Env: env, HealthURL: v1 + "/v1/health", ConfigFiles: []string{defaults}}

	started := time.Now()
	col := testcollector.Start(t, e2eSchedules, opts)
	slotAfter := func(t time.Time) time.Time { return time.Unix(0, (t.UnixNano()/int64(e2eEvery)+1)*int64(e2eEvery)) }
	first := slotAfter(started) // no slot before the first start is checked
	b := slotAfter(time.Now().Add(5 * time.Second))
	last := b.Add(2 * time.Minute)
	lateSlot, missedSlot, restartSlot := b.Add(20*time.Second), b.Add(30*time.Second), b
	const lateBy = 2500 * time.Millisecond

	runs := func(bk string, from, to time.Time, skip time.Time) []map[string]any {
		var events []map[string]any
		for s := from; !s.After(to); s = s.Add(e2eEvery) {
			if s.Equal(skip) {
				continue
			}
			id, at := uuid.NewString(), s.Add(200*time.Millisecond)
			if bk == "sched-late" && s.Equal(lateSlot) {
				at = s.Add(lateBy)
			}
			events = append(events,
				schedEvent(id, bk, "started", "running", at, ""),
				schedEvent(id, bk, "finished", "succeeded", at.Add(800*time.Millisecond), `"duration_s": 0.8`))
		}
		return events
	}
	post := func(events []map[string]any) {
		body, err := json.Marshal(events)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, postStatus(t, v1, body))
	}
	post(slices.Concat(
		runs("sched-ontime", first, last, time.Time{}),
		runs("sched-late", first, lateSlot, time.Time{}),
		runs("sched-missed", first, last, missedSlot),
		runs("sched-restart", first, last, restartSlot),
	))
	eventFiles := filepath.Join(dataDir, "wafer_events_*.csv")
	rowsOf := func(kind string) []map[string]string {
		var out []map[string]string
		for _, r := range csvRows(t, eventFiles) {
			if r["event_kind"] == kind {
				out = append(out, r)
			}
		}
		return out
	}
	testcollector.WaitFor(t, time.Minute, "the late start in the CSV events", func() bool { return len(rowsOf(semconv.KindLateStart)) > 0 })
	testcollector.WaitFor(t, time.Minute, "the late start on :8889", func() bool {
		v, ok := scrape(t, jobMetrics, "wafer_schedule_late_start_seconds", "late")
		return ok && v == lateBy.Seconds()
	})
	// The rest of the late schedule's runs, in time.
	post(runs("sched-late", lateSlot.Add(e2eEvery), last, time.Time{}))

	// The restart schedule's slot without a run is decided while the
	// collector is stopped.
	require.True(t, time.Now().Before(e2eDecided(restartSlot)),
		"the collector stops %s after the slot of the restart schedule was to be decided: this machine took more than 15 s to start the collector and take 2 requests",
		time.Since(e2eDecided(restartSlot)))
	col.Stop()
	stopped := time.Now()
	testcollector.WaitFor(t, time.Minute, "the slot's decision time to pass while the collector is down", func() bool {
		return time.Now().After(e2eDecided(restartSlot).Add(time.Second))
	})
	opts.Dir = col.Dir
	testcollector.Start(t, e2eSchedules, opts)
	restarted := time.Now()

	settled := e2eDecided(missedSlot.Add(e2eEvery))
	testcollector.WaitFor(t, 2*time.Minute, "the missed slots decided, and the one after", func() bool {
		return time.Now().After(settled.Add(2*time.Second)) && len(rowsOf(semconv.KindMissed)) >= 2
	})

	var missed []string
	for _, r := range rowsOf(semconv.KindMissed) {
		missed = append(missed, r["business_key"]+" "+r["entity_id"])
		assert.Equal(t, semconv.StatusMissed, r["status"])
		assert.Equal(t, "fab1", r["site_id"])
		assert.Equal(t, "litho-scheduler", r["app_name"])
		assert.Contains(t, r["metadata_json"], `"schedule":`)
	}
	t.Logf("missed rows: %v; late_start rows: %d; collector down from %s to %s", missed, len(rowsOf(semconv.KindLateStart)),
		stopped.Format(time.TimeOnly), restarted.Format(time.TimeOnly))
	assert.ElementsMatch(t, []string{
		"sched-missed " + missedID("missed", missedSlot),
		"sched-restart " + missedID("restart", restartSlot),
	}, missed, "exactly the two slots without a run, each once")

	late := rowsOf(semconv.KindLateStart)
	require.Len(t, late, 1)
	assert.Equal(t, "sched-late", late[0]["business_key"])
	var md map[string]any
	require.NoError(t, json.Unmarshal([]byte(late[0]["metadata_json"]), &md))
	assert.Equal(t, map[string]any{"schedule": "late", "slot": lateSlot.UTC().Format(time.RFC3339Nano), "late_s": lateBy.Seconds()}, md)

	for name, want := range map[string]float64{"ontime": 0, "late": 0, "missed": 1, "restart": 1} {
		v, ok := scrape(t, jobMetrics, "wafer_schedule_missed_total", name)
		assert.True(t, ok, "wafer_schedule_missed_total{schedule=%q}", name)
		assert.Equal(t, want, v, "wafer_schedule_missed_total{schedule=%q}", name)
		v, ok = scrape(t, jobMetrics, "wafer_schedule_last_success_timestamp_seconds", name)
		assert.True(t, ok && v >= float64(started.Unix()), "wafer_schedule_last_success_timestamp_seconds{schedule=%q} = %v", name, v)
		v, ok = scrape(t, jobMetrics, "wafer_schedule_late_start_seconds", name)
		assert.True(t, ok && v < 1, "wafer_schedule_late_start_seconds{schedule=%q} = %v: the latest runs started in time", name, v)
	}
}

// scrape reads the value of a series of the Prometheus endpoint by its
// schedule label.
func scrape(t *testing.T, url, name, schedule string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec // loopback test URL
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^` + name + `\{[^}]*schedule="` + regexp.QuoteMeta(schedule) + `"[^}]*\} (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return v, true
}
