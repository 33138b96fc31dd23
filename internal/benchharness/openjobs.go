package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// The open-jobs workload: the collector holds `jobs` open jobs (sent
// `started` before the run, with one open subjob each), and the cell reports
// subjobs of all of them in turn, so that every event touches another job,
// as on a busy site where many lots are processed at once. Each job's
// subjobs run one after the other: the event that starts a job's next
// subjob is followed by the one that finishes its previous subjob, so every
// job has one open subjob at any time and its roll-up grows with each
// finished one. Its jobs and subjobs have IDs of their own (openJobsBase),
// apart from those of the regular workload.
const openJobsBase = 0x700000000000

// openJobsMapping is the event of counter value n of the open-jobs workload
// whose counter started at start.
func openJobsMapping(jobs int, start uint64) eventMapping {
	j := uint64(jobs)
	return func(n uint64) benchEvent {
		m := n - start
		k := m / 2
		job := openJobsBase + k%j
		if m%2 == 0 {
			return benchEvent{job: job, subjob: openJobsBase + j + k, n: n, started: true}
		}
		return benchEvent{job: job, subjob: openJobsBase + k, n: n}
	}
}

// prefillEvents are the events that open the jobs of the open-jobs workload
// and the first subjob of each, with event keys from keyStart on.
func prefillEvents(jobs int, keyStart uint64) []benchEvent {
	events := make([]benchEvent, 0, 2*jobs)
	for i := 0; i < jobs; i++ {
		events = append(events, benchEvent{job: openJobsBase + uint64(i), n: keyStart + uint64(i), started: true, ofJob: true})
	}
	for i := 0; i < jobs; i++ {
		id := openJobsBase + uint64(i)
		events = append(events, benchEvent{job: id, subjob: id, n: keyStart + uint64(jobs+i), started: true})
	}
	return events
}

// prefill sends events to the collector's v1 batch endpoint, 100 a request,
// and fails on any answer but 200: the open jobs must all be there before
// the cells that count on them.
func prefill(ctx context.Context, client *http.Client, c *collector, events []benchEvent) error {
	const perRequest = 100
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/events/batch", c.v1Port)
	for i := 0; i < len(events); i += perRequest {
		body := encodeEvents(encV1, events[i:min(i+perRequest, len(events))], true)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("opening jobs on %s: %w", c.pipeline.name, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("opening jobs on %s: HTTP %d: %s", c.pipeline.name, resp.StatusCode, bytes.TrimSpace(msg))
		}
	}
	return nil
}
