package jobhierarchyprocessor

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// queueSize reads the collector's own metric of the items in the csv
// exporter's sending queue of a signal.
func queueSize(t *testing.T, telemetry, signal string) int {
	t.Helper()
	resp, err := http.Get(telemetry) //nolint:gosec // loopback test URL
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^otelcol_exporter_queue_size\{[^}]*data_type="` + signal + `"[^}]*\} (\d+)`)
	m := re.FindSubmatch(body)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return n
}

// postStatus posts a v1 batch and returns the answer's status.
func postStatus(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url+"/v1/events/batch", "application/json", bytes.NewReader(body)) //nolint:gosec // loopback test URL
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// csvRows reads every row of the CSV files matching pattern, as maps by
// column name.
func csvRows(t *testing.T, pattern string) []map[string]string {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	require.NoError(t, err)
	var rows []map[string]string
	for _, p := range paths {
		if info, err := os.Stat(p); err != nil || info.IsDir() {
			continue
		}
		data, err := os.ReadFile(p) //nolint:gosec // the test's own directory
		require.NoError(t, err)
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		header, err := r.Read()
		if errors.Is(err, io.EOF) {
			continue
		}
		require.NoError(t, err)
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			row := map[string]string{}
			for i, name := range header {
				if i < len(rec) {
					row[name] = rec[i]
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TestRetriedSubjobsCountedOnceEndToEnd runs otelcol-config.yaml as shipped
// (a small queue) while the csv exporter cannot write its entity file, so
// the traces pipeline refuses once its queue is full: every subjob finished
// event of a job is answered 503 several times and retried, as a client
// does, until the file can be written again. The job's row counts each
// subjob once.
func TestRetriedSubjobsCountedOnceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	dataDir := t.TempDir()
	config := testcollector.DefaultConfig(t)
	env, ports := testcollector.DefaultConfigEnv(t, config, dataDir)
	require.Contains(t, ports, "WAFERMONITOR_TELEMETRY_PORT")
	v1 := fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_V1_ENDPOINT"])
	telemetry := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["WAFERMONITOR_TELEMETRY_PORT"])
	// The smallest queue the csv exporter's batch (min_size 1000) allows.
	env = append(env, "WAFERMONITOR_QUEUE_ITEMS=1000")
	// A directory where today's (and, near midnight, tomorrow's) entity file
	// goes: the csv exporter fails to open it and retries.
	var blocked []string
	for _, day := range []time.Time{time.Now().UTC(), time.Now().UTC().Add(24 * time.Hour)} {
		p := filepath.Join(dataDir, "wafer_entities_"+day.Format("20060102")+".csv")
		require.NoError(t, os.MkdirAll(p, 0o700))
		blocked = append(blocked, p)
	}
	testcollector.Start(t, config, testcollector.Options{Env: env, HealthURL: v1 + "/v1/health"})

	const (
		job    = "a7000000-0000-4000-8000-000000000001"
		filler = "a7000000-0000-4000-8000-0000000000ff"
	)
	one := func(event string) []byte { return []byte("[" + event + "]") }
	require.Equal(t, http.StatusOK, postStatus(t, v1, one(v1Event("job", job, "", "lot-7", "", "started", "running", ""))))
	// Fill the traces pipeline's queue with subjobs of another job, until
	// it holds as many as it can (the logs pipeline's queue empties as its
	// file is written).
	refused, fillers := 0, 0
	testcollector.WaitFor(t, 2*time.Minute, "a full traces queue and an empty logs queue", func() bool {
		traces := queueSize(t, telemetry, "traces")
		if traces < 1000 {
			events := make([]string, min(100, 1000-max(traces, 0)))
			for i := range events {
				events[i] = v1Event("subjob", fmt.Sprintf("a7100000-0000-4000-8000-%012d", fillers), filler, "lot-8", "", "finished", "succeeded", `"cpu_user_s":1`)
				fillers++
			}
			if postStatus(t, v1, []byte("["+strings.Join(events, ",")+"]")) != http.StatusOK {
				refused++
			}
			return false
		}
		return queueSize(t, telemetry, "logs") == 0
	})
	// The job's 20 subjobs (3 failed), each refused three times.
	bodies := make([][]byte, 20)
	for i := range bodies {
		kind, status := "finished", "succeeded"
		if i < 3 {
			kind, status = "error", "failed"
		}
		id := fmt.Sprintf("a7200000-0000-4000-8000-%012d", i)
		bodies[i] = one(v1Event("subjob", id, job, "lot-7", fmt.Sprintf("wafer-%02d", i), kind, status, `"cpu_user_s":1,"duration_s":10`))
		for range 3 {
			require.Equal(t, http.StatusServiceUnavailable, postStatus(t, v1, bodies[i]))
			refused++
		}
	}
	// The disk is writable again; the client retries each until accepted.
	for _, p := range blocked {
		require.NoError(t, os.Remove(p))
	}
	for i, body := range bodies {
		testcollector.WaitFor(t, 3*time.Minute, fmt.Sprintf("subjob %d accepted", i), func() bool {
			if postStatus(t, v1, body) == http.StatusOK {
				return true
			}
			refused++
			return false
		})
	}
	require.Equal(t, http.StatusOK, postStatus(t, v1, one(v1Event("job", job, "", "lot-7", "", "finished", "succeeded", `"duration_s":300`))))

	var row map[string]string
	testcollector.WaitFor(t, 2*time.Minute, "the job's row", func() bool {
		for _, r := range csvRows(t, filepath.Join(dataDir, "wafer_entities_*.csv")) {
			if r["entity_id"] == job {
				row = r
				return true
			}
		}
		return false
	})
	t.Logf("FIGURES: %d refusals answered 503 and retried; job row: subjobs_total=%s subjobs_failed=%s subjobs_cpu_user_s_sum=%s job_outcome=%s",
		refused, row["subjobs_total"], row["subjobs_failed"], row["subjobs_cpu_user_s_sum"], row["job_outcome"])
	assert.GreaterOrEqual(t, refused, 61, "every subjob was refused at least three times")
	assert.Equal(t, "20", row["subjobs_total"])
	assert.Equal(t, "3", row["subjobs_failed"])
	assert.Equal(t, "20", row["subjobs_cpu_user_s_sum"])
	assert.Equal(t, "200", row["subjob_duration_s_sum"])
	assert.Equal(t, "failure", row["job_outcome"])
}
