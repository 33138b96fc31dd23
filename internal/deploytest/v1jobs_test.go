package deploytest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// v1Event is one event of a generated job in the v1 API's canonical form.
type v1Event struct {
	key    string // idempotency key, unique
	entity string // entity ID
	job    string // the job's ID: the entity's own or its parent's
	kind   string // started or finished
	json   string
}

// jobEvents is one job with subjobs: the job started, each subjob started
// and finished, the job finished, each event with an idempotency key of its
// own.
func jobEvents(subjobs int) []v1Event {
	now := time.Now().UTC()
	job := uuid.NewString()
	var evs []v1Event
	ev := func(typ, id, parent, kind, status string, at time.Time, metrics string) {
		parentJSON := "null"
		if parent != "" {
			parentJSON = strconv.Quote(parent)
		}
		key := uuid.NewString()
		evs = append(evs, v1Event{key: key, entity: id, job: job, kind: kind, json: fmt.Sprintf(
			`{"idempotency_key":%q,"site_id":"fab1","app":{"name":"litho-scheduler","version":"1.4.2"},`+
				`"entity":{"type":%q,"id":%q,"parent_id":%s,"business_key":"lot-4711"},`+
				`"event":{"kind":%q,"at":%q,"status":%q,"metrics":{%s},"metadata":{}}}`,
			key, typ, id, parentJSON, kind, at.Format(time.RFC3339Nano), status, metrics)})
	}
	ev("job", job, "", "started", "running", now, "")
	for i := 0; i < subjobs; i++ {
		sub := uuid.NewString()
		ev("subjob", sub, job, "started", "running", now, "")
		ev("subjob", sub, job, "finished", "succeeded", now.Add(time.Second),
			`"duration_s":1.0,"cpu_user_s":0.8,"cpu_system_s":0.1,"mem_max_mb":120`)
	}
	ev("job", job, "", "finished", "succeeded", now.Add(2*time.Second), `"duration_s":2.0`)
	return evs
}

// batchBody is events as a v1 batch (a bare JSON array).
func batchBody(evs []v1Event) []byte {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = e.json
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

// jobBatch is one job with subjobs (see jobEvents) as a v1 batch.
func jobBatch(subjobs int) (body []byte, events int) {
	evs := jobEvents(subjobs)
	return batchBody(evs), len(evs)
}
