package csvexporter

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// windowSpec is a daily template whose rows outside a week back and a day
// ahead go to the out_of_range file.
func windowSpec(dir string) writerSpec {
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.window = eventWindow{past: 7 * 24 * time.Hour, future: 24 * time.Hour}
	return spec
}

// TestEventTimeWindow: which file a row goes to, by its time, with the
// clock at 19 October 12:00.
func TestEventTimeWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Time
		file string
	}{
		{"now", day1, "ev_20251019.csv"},
		{"no time: the clock's period", time.Time{}, "ev_20251019.csv"},
		{"a week back, same day", day1.Add(-7 * 24 * time.Hour), "ev_20251012.csv"},
		{"first second of the oldest day", time.Date(2025, 10, 12, 0, 0, 0, 0, time.UTC), "ev_20251012.csv"},
		{"last second before it", time.Date(2025, 10, 11, 23, 59, 59, 0, time.UTC), "ev_20251019_out_of_range.csv"},
		{"tomorrow's last second", time.Date(2025, 10, 20, 23, 59, 59, 0, time.UTC), "ev_20251020.csv"},
		{"the day after tomorrow", time.Date(2025, 10, 21, 0, 0, 0, 0, time.UTC), "ev_20251019_out_of_range.csv"},
		{"the epoch (OTLP time 1 ns)", pcommon.Timestamp(1).AsTime(), "ev_20251019_out_of_range.csv"},
		{"the largest OTLP time (2554)", pcommon.Timestamp(math.MaxUint64).AsTime(), "ev_20251019_out_of_range.csv"},
		{"year 9999", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "ev_20251019_out_of_range.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, _ := newTestWriter(t, windowSpec(dir), &fakeClock{t: day1})
			require.NoError(t, w.write(batchOf([]string{"x"}, tc.at), true))
			assert.Equal(t, []string{tc.file}, listDir(t, dir))
			assert.Equal(t, testHeader+"0,x\r\n", readFile(t, filepath.Join(dir, tc.file)))
		})
	}
}

// TestManyDatesOneBatch: one batch of 5,000 rows on 5,000 different days
// opens the days of the window and one out_of_range file, keeps every row
// in its order, and counts the rows out of range.
func TestManyDatesOneBatch(t *testing.T) {
	dir := t.TempDir()
	spec := windowSpec(dir)
	spec.compress = true
	clock := &fakeClock{t: day1}
	w, c := newTestWriter(t, spec, clock)
	const days = 5000
	times := make([]time.Time, days)
	for i := range times {
		// Every day from 2012 to 2025, in an order that jumps around.
		times[i] = day1.AddDate(0, 0, 1-(i*7919)%days)
	}
	require.NoError(t, w.write(batchOf(nil, times...), true))
	names := listDir(t, dir)
	// 12 to 20 October and the out_of_range file, all open.
	assert.Len(t, names, 10, "%v", names)
	assert.Equal(t, 0, c.closed)
	assert.Equal(t, days-9, c.outOfRange)

	data := readFile(t, filepath.Join(dir, "ev_20251019_out_of_range.csv"))
	lines := strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")
	require.Len(t, lines, 1+days-9)
	prev := -1
	for _, line := range lines[1:] {
		var i int
		_, err := fmt.Sscanf(line, "%d,", &i)
		require.NoError(t, err)
		assert.Greater(t, i, prev, "rows keep their order")
		prev = i
		assert.False(t, times[i].After(time.Date(2025, 10, 12, 0, 0, 0, 0, time.UTC)) &&
			times[i].Before(time.Date(2025, 10, 21, 0, 0, 0, 0, time.UTC)), "row %d of %s is in the window", i, times[i])
	}

	// The next day, the out_of_range file of the 20th takes such rows; the
	// 19th's is closed once it stayed idle for a tick.
	clock.Set(day1.Add(24 * time.Hour))
	require.NoError(t, w.write(batchOf(nil, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), true))
	w.tick()
	w.tick()
	settle(w)
	assert.Contains(t, listDir(t, dir), "ev_20251019_out_of_range.csv.gz")
	assert.Equal(t, testHeader+"0,n0\r\n", readFile(t, filepath.Join(dir, "ev_20251020_out_of_range.csv")))
}

// TestWindowWithoutTokens: a template without time tokens is one file; no
// row is out of range.
func TestWindowWithoutTokens(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev.csv")
	spec.window = eventWindow{past: time.Hour, future: time.Hour}
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), day1), true))
	assert.Equal(t, []string{"ev.csv"}, listDir(t, dir))
}

// TestPresentFileKeptWhileLateRowsArrive: the file of the current day is
// not closed when the latest rows were late ones; a past day's file idle
// for a tick is.
func TestPresentFileKeptWhileLateRowsArrive(t *testing.T) {
	dir := t.TempDir()
	spec := windowSpec(dir)
	spec.compress = true
	w, _ := newTestWriter(t, spec, &fakeClock{t: day1})
	require.NoError(t, w.write(batchOf(nil, day1, day1.Add(-48*time.Hour), day1.Add(-24*time.Hour)), true))
	w.tick()
	w.tick()
	settle(w)
	// The 18th was written last: kept; the 17th is done.
	assert.Equal(t, []string{"ev_20251017.csv.gz", "ev_20251018.csv", "ev_20251019.csv"}, listDir(t, dir))
	require.NoError(t, w.write(batchOf(nil, day1.Add(-24*time.Hour)), true))
	require.NoError(t, w.write(batchOf(nil, day1), true))
	w.tick()
	w.tick()
	settle(w)
	assert.Equal(t, []string{"ev_20251017.csv.gz", "ev_20251018.csv.gz", "ev_20251019.csv"}, listDir(t, dir))
}

// TestRetentionByPeriodInName: files of periods that ended longer ago than
// max_age are removed, however recently they were modified (as a flood of
// old dates left them); with max_files the oldest periods go first.
// Templates whose tokens do not name a period go by modification time.
func TestRetentionByPeriodInName(t *testing.T) {
	now := day1
	files := map[string]time.Time{
		"ev_20000101.csv.gz":                 now.Add(-time.Minute), // removed: period of 2000
		"ev_20100615-3.csv":                  now.Add(-time.Minute), // removed
		"ev_20250101_out_of_range.csv.gz":    now.Add(-time.Minute), // removed: written in January
		"ev_20251010.csv.gz":                 now.Add(-time.Minute), // kept: 9 days
		"ev_20251018_out_of_range-1.csv.gz":  now.Add(-time.Minute), // kept
		"ev_20251012.csv.gz":                 now.Add(-40 * 24 * time.Hour),
		"mo_0101.csv":                        now.Add(-time.Minute), // no year: by modification time, kept
		"mo_1001.csv":                        now.Add(-40 * 24 * time.Hour),
		"ev_20251019_out_of_range-unrelated": now.Add(-40 * 24 * time.Hour), // not ours
	}
	dir := t.TempDir()
	for name, mtime := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(testHeader), 0o600))
		require.NoError(t, os.Chtimes(path, mtime, mtime))
	}
	for _, template := range []string{"ev_%Y%m%d.csv", "mo_%m%d.csv"} {
		spec := testSpec(dir, template)
		spec.maxAge = 30 * 24 * time.Hour
		w, _ := newTestWriter(t, spec, &fakeClock{t: now})
		w.retain(now, "")
	}
	assert.Equal(t, []string{
		"ev_20251010.csv.gz", "ev_20251018_out_of_range-1.csv.gz", "ev_20251019_out_of_range-unrelated", "mo_0101.csv",
	}, listDir(t, dir))

	// By count: the oldest period goes first, whatever the modification times.
	for name := range map[string]bool{"ev_20251001.csv.gz": true, "ev_20251005.csv.gz": true} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(testHeader), 0o600))
	}
	spec := testSpec(dir, "ev_%Y%m%d.csv")
	spec.maxFiles = 2
	w, c := newTestWriter(t, spec, &fakeClock{t: now})
	w.retain(now, "")
	assert.Equal(t, []string{
		"ev_20251010.csv.gz", "ev_20251018_out_of_range-1.csv.gz", "ev_20251019_out_of_range-unrelated", "mo_0101.csv",
	}, listDir(t, dir))
	assert.Equal(t, 2, c.removed)
}

// TestWindowNeverBeyondMaxAge: rows older than max_age would open a file
// that retention removes at once, so the window's past is at most max_age.
func TestWindowNeverBeyondMaxAge(t *testing.T) {
	for _, tc := range []struct {
		past, maxAge, want time.Duration
	}{
		{168 * time.Hour, 0, 168 * time.Hour},
		{168 * time.Hour, 720 * time.Hour, 168 * time.Hour},
		{168 * time.Hour, 24 * time.Hour, 24 * time.Hour},
		{0, 48 * time.Hour, 48 * time.Hour},
		{0, 0, 0},
	} {
		r := RotationConfig{MaxAge: tc.maxAge, EventTimeWindow: EventTimeWindowConfig{Past: tc.past, Future: time.Hour}}
		assert.Equal(t, eventWindow{past: tc.want, future: time.Hour}, r.window(), "past %s, max_age %s", tc.past, tc.maxAge)
	}
}

func TestPeriodEndOf(t *testing.T) {
	utc := time.UTC
	for _, tc := range []struct {
		tokens string
		digits []string
		want   time.Time // zero: no period
	}{
		{"Ymd", []string{"2025", "10", "19"}, time.Date(2025, 10, 20, 0, 0, 0, 0, utc)},
		{"YmdH", []string{"2025", "10", "19", "23"}, time.Date(2025, 10, 20, 0, 0, 0, 0, utc)},
		{"Ym", []string{"2025", "12"}, time.Date(2026, 1, 1, 0, 0, 0, 0, utc)},
		{"Y", []string{"2025"}, time.Date(2026, 1, 1, 0, 0, 0, 0, utc)},
		{"dmY", []string{"19", "10", "2025"}, time.Date(2025, 10, 20, 0, 0, 0, 0, utc)},
		{"YY", []string{"2025", "2030"}, time.Date(2026, 1, 1, 0, 0, 0, 0, utc)},
		{"md", []string{"10", "19"}, time.Time{}},
		{"Yd", []string{"2025", "19"}, time.Time{}},
		{"", nil, time.Time{}},
		{"Ym", []string{"2025", "13"}, time.Time{}},
		{"Ymd", []string{"2025", "10", "00"}, time.Time{}},
		{"YmdH", []string{"2025", "10", "19", "24"}, time.Time{}},
		{"Ymd", []string{"2025", "10"}, time.Time{}},
	} {
		got, ok := periodEndOf([]byte(tc.tokens), tc.digits, utc)
		assert.Equal(t, !tc.want.IsZero(), ok, "%s %v", tc.tokens, tc.digits)
		assert.True(t, got.Equal(tc.want), "%s %v: %s, want %s", tc.tokens, tc.digits, got, tc.want)
	}
}

// TestOneRowBatchesAcrossPeriods: batches of one row, as the shipped
// configuration writes them, whose times go back and forth across hours and
// out of the window while the clock moves, each land in the file their own
// time (or, out of range, the clock's hour) names.
func TestOneRowBatchesAcrossPeriods(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(dir, "ev_%Y%m%d_%H.csv")
	spec.window = eventWindow{past: 3 * time.Hour, future: time.Hour}
	clock := &fakeClock{t: day1}
	w, _ := newTestWriter(t, spec, clock)
	tmpl := parseTemplate(spec.template)
	want := map[string]string{}
	for k := 0; k < 800; k++ {
		if k%25 == 24 {
			// The window's bounds move with the clock.
			clock.Set(clock.Now().Add(37 * time.Minute))
		}
		now := clock.Now()
		// Times around the hours: whole hours, their last nanosecond, and
		// jumps of 17 minutes from four hours back to two ahead.
		at := now.Add(time.Duration(k%22)*17*time.Minute - 4*time.Hour).Truncate(time.Hour)
		switch k % 3 {
		case 1:
			at = at.Add(-time.Nanosecond)
		case 2:
			at = at.Add(time.Duration(k) * time.Second)
		}
		lo, hi := spec.window.bounds(periodHour, now)
		name := tmpl.resolve(at) + ".csv"
		if at.Before(lo) || !at.Before(hi) {
			name = tmpl.resolve(now) + outOfRangeSuffix + ".csv"
		}
		if want[name] == "" {
			want[name] = testHeader
		}
		note := fmt.Sprintf("r%d", k)
		want[name] += "0," + note + "\r\n"
		require.NoError(t, w.write(batchOf([]string{note}, at), true))
	}
	require.Greater(t, len(want), 10)
	names := listDir(t, dir)
	assert.Len(t, names, len(want))
	for _, name := range names {
		assert.Equal(t, want[name], readFile(t, filepath.Join(dir, name)), name)
	}
}

// TestWindowBoundsKeptWhileValid: the event-time window's bounds kept from
// batch to batch are at every instant those computed afresh, on either
// side of every change, with the clock going forward or back.
func TestWindowBoundsKeptWhileValid(t *testing.T) {
	steps := []time.Duration{time.Nanosecond, 17 * time.Minute, time.Hour - time.Nanosecond, 3 * time.Hour, -2 * time.Hour, 23 * time.Hour, 26 * 24 * time.Hour, -time.Nanosecond}
	for _, unit := range []periodUnit{periodHour, periodDay, periodMonth, periodYear} {
		for _, win := range []eventWindow{{past: 3 * time.Hour, future: time.Hour}, {past: 7 * 24 * time.Hour}, {future: 24 * time.Hour}, {past: 90 * time.Minute, future: 45 * 24 * time.Hour}} {
			for _, loc := range []*time.Location{time.UTC, time.FixedZone("UTC+5:30", 5*3600+1800)} {
				w := &fileWriter{spec: writerSpec{window: win}, loc: loc}
				var p placement
				now := day1.In(loc)
				for k := 0; k < 600; k++ {
					var nows []time.Time
					// Each instant at which a bound changes, and the one before.
					for _, edge := range []time.Time{unit.end(now.Add(-win.past)).Add(win.past), unit.end(now.Add(win.future)).Add(-win.future)} {
						nows = append(nows, edge.Add(-time.Nanosecond), edge)
					}
					nows = append(nows, now)
					for _, at := range nows {
						wantLo, wantHi := win.bounds(unit, at)
						lo, hi := p.windowAt(w, unit, at)
						require.True(t, lo.Equal(wantLo) && hi.Equal(wantHi), "unit %d, window %+v, %s: bounds %s %s, want %s %s", unit, win, at, lo, hi, wantLo, wantHi)
					}
					now = now.Add(steps[k%len(steps)])
				}
			}
		}
	}
}
