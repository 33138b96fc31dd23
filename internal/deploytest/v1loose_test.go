package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
)

// looseCase is one event an old client sends that the old sidecar stored,
// and what its CSV rows must hold.
type looseCase struct {
	name string
	// mut changes a canonical finished job with a UUID, kind and time.
	mut func(app, ent, ev map[string]any)
	// row: event row columns that must hold these values ("" = empty).
	row map[string]string
	// entity: the same for the entity row (nil: the event makes none).
	entity map[string]string
	// clamped: the event's time is the receive time (and so its file).
	clamped bool
}

func fromName(s string) string { return uuid.UUID(ids.FromName(s)).String() }

// looseCases are sent with a time of an hour ago unless they say otherwise:
// recent, their rows go to their day's file.
func looseCases(recent time.Time) []looseCase {
	const jobID = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	at := recent.Format(time.RFC3339)
	start := recent.Add(-10 * time.Second).Format(time.RFC3339)
	return []looseCase{
		{name: "AWS batch-job", mut: func(_, ent, _ map[string]any) { ent["type"], ent["id"] = "batch-job", jobID },
			row: map[string]string{"entity_type": "job", "entity_id": jobID, "entity_id_original": ""}, entity: map[string]string{"entity_type": "job", "entity_id": jobID}},
		{name: "AWS ecs-task of a job with a string id", mut: func(_, ent, _ map[string]any) {
			ent["type"], ent["id"], ent["parent_id"] = "ecs-task", "task-7", "job-123"
		},
			row: map[string]string{"entity_type": "subjob", "entity_id": fromName("task-7"), "entity_id_original": "task-7",
				"parent_id": fromName("job-123"), "parent_id_original": "job-123"},
			entity: map[string]string{"entity_type": "subjob", "trace_id": strings.ReplaceAll(fromName("job-123"), "-", ""), "parent_id_original": "job-123"}},
		{name: "AWS lambda-job with a string id", mut: func(_, ent, _ map[string]any) { ent["type"], ent["id"] = "lambda-job", "job-123" },
			row:    map[string]string{"entity_type": "job", "entity_id": fromName("job-123"), "entity_id_original": "job-123"},
			entity: map[string]string{"entity_type": "job", "trace_id": strings.ReplaceAll(fromName("job-123"), "-", ""), "entity_id_original": "job-123"}},
		{name: "AWS lambda with a parent", mut: func(_, ent, _ map[string]any) { ent["type"], ent["id"], ent["parent_id"] = "lambda", "fn-1", jobID },
			row: map[string]string{"entity_type": "subjob", "parent_id": jobID, "entity_id_original": "fn-1"}, entity: map[string]string{"entity_type": "subjob"}},
		{name: "string app id", mut: func(app, _, _ map[string]any) { app["app_id"] = "my-app" },
			row: map[string]string{"app_id": fromName("my-app"), "app_id_original": "my-app"}, entity: map[string]string{"app_id_original": "my-app"}},
		{name: "unknown kind", mut: func(_, _, ev map[string]any) { ev["kind"], ev["status"] = "heartbeat", nil },
			row: map[string]string{"event_kind": "other", "event_kind_original": "heartbeat", "status": "running"}},
		{name: "metric strings", mut: func(_, _, ev map[string]any) {
			ev["metrics"] = map[string]any{"duration_s": "12.5", "cpu_user_s": "abc", "mem_max_mb": map[string]any{"peak": 3}}
		},
			row: map[string]string{"duration_s": "12.5", "cpu_user_s": "", "mem_max_mb": ""}, entity: map[string]string{"duration_s": "12.5"}},
		{name: "metadata list", mut: func(_, _, ev map[string]any) { ev["metadata"] = []any{"a", 2} },
			row: map[string]string{"metadata_json": `["a",2]`}, entity: map[string]string{"metadata_json": `["a",2]`}},
		{name: "metadata string", mut: func(_, _, ev map[string]any) { ev["metadata"] = "note" },
			row: map[string]string{"metadata_json": "note"}},
		{name: "unparseable time", mut: func(_, _, ev map[string]any) { ev["at"] = "yesterday" }, clamped: true,
			row: map[string]string{"event_kind": "finished", "event_kind_original": "", "at_original": "yesterday"}, entity: map[string]string{}},
		{name: "year 9999 with a huge duration", mut: func(_, _, ev map[string]any) {
			ev["at"], ev["metrics"] = "9999-12-31T00:00:00Z", map[string]any{"duration_s": 1e300}
		}, clamped: true, row: map[string]string{}, entity: map[string]string{}},
		{name: "year 1", mut: func(_, _, ev map[string]any) { ev["at"] = "0001-01-01T00:00:00Z" }, clamped: true, row: map[string]string{}},
		{name: "epoch 99999999999", mut: func(_, _, ev map[string]any) { ev["at"] = 99999999999 }, clamped: true, row: map[string]string{}},
		{name: "1970-01-01", mut: func(_, _, ev map[string]any) { ev["at"] = "1970-01-01T00:00:00Z" }, clamped: true, row: map[string]string{}},
		{name: "a time an hour ago", mut: func(_, _, _ map[string]any) {},
			row: map[string]string{"timestamp": at}, entity: map[string]string{"end_time": at, "start_time": start}},
		{name: "1970-01-01T00:00:01Z is a time", mut: func(_, _, ev map[string]any) { ev["at"] = "1970-01-01T00:00:01Z" },
			row: map[string]string{"timestamp": "1970-01-01T00:00:01Z"}, entity: map[string]string{"end_time": "1970-01-01T00:00:01Z", "start_time": "1970-01-01T00:00:00.000000001Z"}},
	}
}

// TestLoosePayloadsInCSV runs the default otelcol-config.yaml as `make run`
// does (listeners and data directory moved through its environment
// variables) and posts, as an old client does, every kind of event the old
// sidecar stored although the v1 contract does not describe it (AWS type
// names, string ids, unknown kinds, metrics that are not numbers, metadata
// that is not an object) and times pdata cannot hold: each is answered 200,
// and its rows in the CSV files hold what the receiver made of it, in the
// file of the day it is dated (the receive day for a time it could not use).
func TestLoosePayloadsInCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	config := testcollector.DefaultConfig(t)
	dataDir := t.TempDir()
	env, ports := testcollector.DefaultConfigEnv(t, config, dataDir)
	testcollector.Start(t, config, testcollector.Options{Env: env,
		HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"])})
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/event", ports["WAFERMONITOR_V1_ENDPOINT"])

	before := time.Now().UTC()
	recent := before.Add(-time.Hour).Truncate(time.Second)
	cases := looseCases(recent)
	for i, c := range cases {
		app := map[string]any{"app_id": "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "name": "litho", "version": "1.0"}
		ent := map[string]any{"type": "job", "id": uuid.NewString(), "parent_id": nil, "business_key": fmt.Sprintf("lot-%d", i)}
		ev := map[string]any{"kind": "finished", "at": recent.Format(time.RFC3339), "status": "succeeded", "metrics": map[string]any{"duration_s": 10}, "metadata": map[string]any{}}
		c.mut(app, ent, ev)
		body, _ := json.Marshal(map[string]any{"idempotency_key": fmt.Sprintf("loose-%d", i), "site_id": "fab1", "app": app, "entity": ent, "event": ev})
		resp, err := http.Post(url, "application/json", bytes.NewReader(body)) //nolint:gosec // a loopback test URL
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: answered %d, want 200", c.name, resp.StatusCode)
		}
	}
	after := time.Now().UTC()

	// The jobhierarchy processor adds rows of its own (the job of a subjob
	// that never reported): each case's rows are found by its key and lot.
	var events, entities, byLot map[string]csvRow
	missing := func() []string {
		events = rowsByFile(t, dataDir, csvEvents, "idempotency_key")
		entities = rowsByFile(t, dataDir, csvEntities, "")
		byLot = map[string]csvRow{}
		for _, e := range entities {
			byLot[e.cols["business_key"]] = e
		}
		var m []string
		for i, c := range cases {
			if _, ok := events[fmt.Sprintf("loose-%d", i)]; !ok {
				m = append(m, c.name+" (event)")
			}
			if _, ok := byLot[fmt.Sprintf("lot-%d", i)]; !ok && c.entity != nil {
				m = append(m, c.name+" (entity)")
			}
		}
		return m
	}
	defer func() {
		if t.Failed() {
			t.Logf("rows missing: %v", missing())
		}
	}()
	testcollector.WaitFor(t, 60*time.Second, "every case's rows in the CSV files", func() bool { return len(missing()) == 0 })
	today := map[string]bool{before.Format("20060102"): true, after.Format("20060102"): true}
	for i, c := range cases {
		row, ok := events[fmt.Sprintf("loose-%d", i)]
		if !ok {
			t.Errorf("%s: no event row", c.name)
			continue
		}
		checkColumns(t, c.name+": event", row, c.row)
		day := fileDay(row.file)
		if !c.clamped {
			if row.cols["timestamp"] == recent.Format(time.RFC3339) && day != recent.Format("20060102") {
				t.Errorf("%s: in file %s, want its day's", c.name, row.file)
			}
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, row.cols["timestamp"])
		if err != nil || at.Before(before.Truncate(time.Second)) || at.After(after) {
			t.Errorf("%s: timestamp %s, want the receive time (%s to %s)", c.name, row.cols["timestamp"], before, after)
		}
		if !today[day] {
			t.Errorf("%s: in file %s, want the receive day's", c.name, row.file)
		}
	}
	for i, c := range cases {
		if c.entity == nil {
			continue
		}
		e, ok := byLot[fmt.Sprintf("lot-%d", i)]
		if !ok {
			t.Errorf("%s: no entity row", c.name)
			continue
		}
		checkColumns(t, c.name+": entity", e, c.entity)
		if c.clamped && !today[fileDay(e.file)] {
			t.Errorf("%s: entity in file %s, want the receive day's", c.name, e.file)
		}
	}
	clampedStart := 0
	for _, e := range entities {
		start, err1 := time.Parse(time.RFC3339Nano, e.cols["start_time"])
		end, err2 := time.Parse(time.RFC3339Nano, e.cols["end_time"])
		if err1 != nil || err2 != nil || start.Year() < 1970 || end.Year() > after.Year()+1 || start.After(end) {
			t.Errorf("entity row with times %s to %s", e.cols["start_time"], e.cols["end_time"])
		}
		// duration_s 1e300 of an event at the receive time: the span lasts 3,650 days.
		if earliest := 3650 * 24 * time.Hour; !start.Before(before.Add(-earliest).Truncate(time.Second)) && !start.After(after.Add(-earliest)) {
			clampedStart++
		}
	}
	if clampedStart != 1 {
		t.Errorf("%d entity rows start 3650 days before they were received (duration_s 1e300 clamped), want 1", clampedStart)
	}
	t.Logf("%d loose events posted, %d event rows and %d entity rows checked", len(cases), len(events), len(entities))
}

// fileDay is the YYYYMMDD of a CSV file's name (wafer_events_20251019.csv).
func fileDay(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".csv")
	return name[strings.LastIndexByte(name, '_')+1:]
}

type csvRow struct {
	file string
	cols map[string]string
}

// rowsByFile reads every row of one output, keyed by a column (or by file
// and line when key is empty), with the file it is in.
func rowsByFile(t *testing.T, dir, output, key string) map[string]csvRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, output+"_*.csv*")) // open files and gzipped closed ones
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]csvRow{}
	for _, f := range files {
		rows, _, err := readCSVFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			k := fmt.Sprintf("%s:%d", f, i)
			if key != "" {
				k = r[key]
			}
			out[k] = csvRow{file: filepath.Base(f), cols: r}
		}
	}
	return out
}

// checkColumns reports every column of row that does not hold its wanted value.
func checkColumns(t *testing.T, what string, row csvRow, want map[string]string) {
	t.Helper()
	for col, v := range want {
		if row.cols[col] != v {
			t.Errorf("%s column %s = %q, want %q", what, col, row.cols[col], v)
		}
	}
}
