package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The entity type names the v1 contract maps explicitly; any other name
// follows the parent rule (see entityType).
var (
	jobTypeNames    = map[string]bool{"job": true, "batch": true, "lot": true}
	subjobTypeNames = map[string]bool{"subjob": true, "sub_job": true, "task": true, "step": true, "wafer": true}
)

// entityType normalises a type name (any case) or number (0 job, 1 subjob)
// to job or subjob. Any other value, or none, is a subjob when the entity
// names a parent and a job when it does not (the old AWS examples' batch-job,
// ecs-task, lambda-job, lambda). original is the client's value when it is
// not exactly job or subjob.
func entityType(v sentValue, hasParent bool) (normalized, original string) {
	s, sent := v.asText()
	name := strings.ToLower(strings.TrimSpace(s))
	if sent && name != semconv.EntityTypeJob && name != semconv.EntityTypeSubjob {
		original = bound(s)
	}
	if v.kind == sentNumber {
		switch v.text {
		case "0":
			return semconv.EntityTypeJob, ""
		case "1":
			return semconv.EntityTypeSubjob, ""
		}
	}
	switch {
	case jobTypeNames[name]:
		return semconv.EntityTypeJob, original
	case subjobTypeNames[name], hasParent:
		return semconv.EntityTypeSubjob, original
	}
	return semconv.EntityTypeJob, original
}

var eventKinds = [...]string{
	semconv.KindStarted, semconv.KindProgress, semconv.KindMetric,
	semconv.KindFinished, semconv.KindError, semconv.KindCanceled,
}

// eventKind normalises a kind name (any case) or number (0 to 5). Anything
// else, or none, is semconv.KindOther, a non-terminal event, with the
// client's value as original.
func eventKind(v sentValue) (kind, original string) {
	s, sent := v.asText()
	name := strings.ToLower(strings.TrimSpace(s))
	if v.kind == sentNumber {
		if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(eventKinds) {
			return eventKinds[i], ""
		}
	}
	switch name {
	case "cancelled":
		return semconv.KindCanceled, ""
	case "failed":
		return semconv.KindError, ""
	}
	for _, k := range eventKinds {
		if name == k {
			return k, ""
		}
	}
	if !sent {
		return semconv.KindOther, ""
	}
	return semconv.KindOther, bound(s)
}

// status reads a status and maps the older clients' spellings; a status
// that is none of them is kept, bounded. A missing one follows from the
// kind (defaultStatus).
func status(v sentValue, kind string) string {
	s, _ := v.asText()
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "":
		return defaultStatus(kind)
	case "success", "succeeded", "ok", "done", "completed":
		return semconv.StatusSucceeded
	case "error", "failed", "failure":
		return semconv.StatusFailed
	case "in_progress", "started", "running":
		return semconv.StatusRunning
	case "canceled", "cancelled":
		return semconv.StatusCanceled
	}
	return bound(s)
}

// defaultStatus is the status a kind implies when the client sent none.
func defaultStatus(kind string) string {
	switch kind {
	case semconv.KindFinished:
		return semconv.StatusSucceeded
	case semconv.KindError:
		return semconv.StatusFailed
	case semconv.KindCanceled:
		return semconv.StatusCanceled
	}
	return semconv.StatusRunning
}

// entityID reads an id: a UUID as it is; any other value (a string such as
// "job-123", a number) becomes the name-based UUID of its text (ids.FromName),
// with the text kept as original. The nil UUID is not usable as a trace ID
// and is treated like any other name. ok is false when there is no id (null,
// absent, blank). canonical is the id's canonical text when the client sent
// exactly that, else empty.
func entityID(v sentValue) (id uuid.UUID, canonical, original string, ok bool) {
	s, sent := v.asText()
	if !sent || strings.TrimSpace(s) == "" {
		return uuid.UUID{}, "", "", false
	}
	if u, err := uuid.Parse(s); err == nil && u != uuid.Nil {
		if isCanonicalUUID(s) {
			canonical = s
		}
		return u, canonical, "", true
	}
	return uuid.UUID(ids.FromName(s)), "", bound(s), true
}

// isCanonicalUUID tells a UUID that uuid.Parse read from its canonical
// text: 36 characters, lower-case hex digits, the hyphens in their places.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'F' {
			return false
		}
	}
	return true
}
