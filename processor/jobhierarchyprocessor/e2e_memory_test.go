package jobhierarchyprocessor

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// mappedRSS is the resident memory of process pid's maps of path
// (/proc/PID/smaps), in bytes.
func mappedRSS(t *testing.T, pid int, path string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	require.NoError(t, err)
	total, in := 0, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) == 6 && fields[5] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.Atoi(fields[1])
			require.NoError(t, err)
			total += kb << 10
		}
	}
	return total
}

// TestStateMapReleasedOnceQuiet: the pages of the state file that bbolt
// reads through its memory map count in the collector's RSS, and pile up
// while the collector works (the checkpoints rewrite and delete stored
// parts); once the state is quiet, file_storage releases them. 10,000 jobs
// start, then run subjobs (batches of 1,000 events) until the state file's
// mapped pages pass 1 MiB; then, without any further request, they fall
// under 256 KiB, and the collector keeps taking events.
func TestStateMapReleasedOnceQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	const (
		jobs          = 10000
		maxSubjobs    = 200
		perRequest    = 1000
		mappedAbove   = 1 << 20
		releasedBelow = 256 << 10
	)
	port := testcollector.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	col := testcollector.Start(t, fmt.Sprintf(e2eBytesConfig, port), testcollector.Options{HealthURL: url + "/v1/health"})
	statePath, err := filepath.Abs(filepath.Join(col.Dir, "state", "processor_jobhierarchy_"))
	require.NoError(t, err)

	events := 0
	var batch []string
	send := func(e string) {
		batch = append(batch, e)
		events++
		if len(batch) == perRequest {
			require.Equal(t, http.StatusOK, postStatus(t, url, []byte("["+strings.Join(batch, ",")+"]")))
			batch = batch[:0]
		}
	}
	jobID := func(j int) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012d", j) }
	for j := 0; j < jobs; j++ {
		send(v1Event("job", jobID(j), "", "lot-7", "", "started", "running", ""))
	}
	loaded := 0
	for s := 0; s < maxSubjobs && loaded <= mappedAbove; s++ {
		for _, kind := range []string{"started", "finished"} {
			status := map[string]string{"started": "running", "finished": "succeeded"}[kind]
			for j := 0; j < jobs; j++ {
				send(v1Event("subjob", fmt.Sprintf("c1000000-0000-4000-%04d-%012d", s, j), jobID(j), "lot-7", fmt.Sprintf("wafer-%02d", s), kind, status, ""))
			}
		}
		loaded = mappedRSS(t, col.PID(), statePath)
	}
	require.Greater(t, loaded, mappedAbove, "the state file's pages are mapped after %d events", events)

	began := time.Now()
	var released int
	testcollector.WaitFor(t, 2*time.Minute, "the state file's mapped pages to be released", func() bool {
		released = mappedRSS(t, col.PID(), statePath)
		return released < releasedBelow
	})
	info, err := os.Stat(statePath)
	require.NoError(t, err)
	t.Logf("FIGURES: %d events; state file %.1f MiB, its mapped pages %.1f MiB after the load, %d KiB %.1f s later (bound %d KiB)",
		events, float64(info.Size())/(1<<20), float64(loaded)/(1<<20), released>>10, time.Since(began).Seconds(), releasedBelow>>10)

	send(v1Event("job", jobID(jobs), "", "lot-7", "", "started", "running", ""))
	require.Equal(t, http.StatusOK, postStatus(t, url, []byte("["+strings.Join(batch, ",")+"]")))
}
