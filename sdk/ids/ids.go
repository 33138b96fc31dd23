// Package ids derives OpenTelemetry trace and span IDs from job and subjob
// UUIDs, so that one entity reported through different paths (the SDK over
// OTLP, an old client over the v1 API, a replay from a client spool) lands
// in the same trace with the same span.
//
// The mapping:
//   - a job's trace ID is its UUID's 16 bytes;
//   - a subjob's trace ID is its parent job's UUID (an orphan subjob, with no
//     parent, uses its own UUID);
//   - every entity's span ID is the first 8 bytes of SHA-256 over "wafermonitor/span/"
//     followed by its UUID's 16 bytes;
//   - a subjob's parent span ID is its parent job's span ID.
//
// An id a client sent that is not a UUID ("job-123") is mapped to a UUID by
// FromName first.
package ids

import "crypto/sha256"

// UUID is the 16 bytes of an entity's UUID.
type UUID [16]byte

// TraceID returns the trace ID of the job whose UUID is job.
func TraceID(job UUID) [16]byte { return job }

var spanIDDomain = []byte("wafermonitor/span/")

// SpanID returns the span ID of the entity whose UUID is entity. It is never
// all zeros: OpenTelemetry treats a zero span ID as invalid.
func SpanID(entity UUID) [8]byte {
	h := sha256.New()
	h.Write(spanIDDomain)
	h.Write(entity[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var id [8]byte
	copy(id[:], sum[:8])
	if id == ([8]byte{}) {
		id[7] = 1
	}
	return id
}

// Entity holds the IDs of one entity's span.
type Entity struct {
	TraceID      [16]byte
	SpanID       [8]byte
	ParentSpanID [8]byte // zero for a job and for an orphan subjob
}

// ForJob returns the IDs of a job's span.
func ForJob(job UUID) Entity {
	return Entity{TraceID: TraceID(job), SpanID: SpanID(job)}
}

// ForSubjob returns the IDs of a subjob's span. With hasParent false the
// subjob is an orphan: its own trace, no parent span.
func ForSubjob(subjob, parent UUID, hasParent bool) Entity {
	if !hasParent {
		return ForJob(subjob)
	}
	return Entity{TraceID: TraceID(parent), SpanID: SpanID(subjob), ParentSpanID: SpanID(parent)}
}
