package jobhierarchyprocessor

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// v1Batches sends v1 events to the receiver's batch endpoint, perRequest
// a request, each answered 200.
type v1Batches struct {
	t          *testing.T
	url        string
	perRequest int
	batch      []string
	sent       int // events added
}

// add adds an event to the next request.
func (b *v1Batches) add(e string) {
	b.batch = append(b.batch, e)
	b.sent++
}

// send adds an event and sends the request once it is full.
func (b *v1Batches) send(e string) {
	if b.add(e); len(b.batch) == b.perRequest {
		b.flush()
	}
}

func (b *v1Batches) flush() {
	if len(b.batch) > 0 {
		require.Equal(b.t, http.StatusOK, postStatus(b.t, b.url, []byte("["+strings.Join(b.batch, ",")+"]")))
		b.batch = b.batch[:0]
	}
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

	b := &v1Batches{t: t, url: url, perRequest: perRequest}
	send := b.send
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
		loaded = testcollector.MappedRSS(t, col.PID(), statePath)
	}
	require.Greater(t, loaded, mappedAbove, "the state file's pages are mapped after %d events", b.sent)

	began := time.Now()
	var released int
	testcollector.WaitFor(t, 2*time.Minute, "the state file's mapped pages to be released", func() bool {
		released = testcollector.MappedRSS(t, col.PID(), statePath)
		return released < releasedBelow
	})
	info, err := os.Stat(statePath)
	require.NoError(t, err)
	t.Logf("FIGURES: %d events; state file %.1f MiB, its mapped pages %.1f MiB after the load, %d KiB %.1f s later (bound %d KiB)",
		b.sent, float64(info.Size())/(1<<20), float64(loaded)/(1<<20), released>>10, time.Since(began).Seconds(), releasedBelow>>10)

	b.add(v1Event("job", jobID(jobs), "", "lot-7", "", "started", "running", ""))
	b.flush()
}
