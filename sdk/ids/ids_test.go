package ids

import (
	"encoding/hex"
	"testing"
)

func mustUUID(t *testing.T, s string) UUID {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad test uuid %q", s)
	}
	var u UUID
	copy(u[:], b)
	return u
}

func TestJobTraceIDIsUUID(t *testing.T) {
	job := mustUUID(t, "a1b2c3d4e5f647898abcdef012345678")
	e := ForJob(job)
	if hex.EncodeToString(e.TraceID[:]) != "a1b2c3d4e5f647898abcdef012345678" {
		t.Fatalf("trace id %x is not the job uuid", e.TraceID)
	}
	if e.ParentSpanID != ([8]byte{}) {
		t.Fatalf("job has a parent span %x", e.ParentSpanID)
	}
}

func TestSubjobIsChildOfJob(t *testing.T) {
	job := mustUUID(t, "a1b2c3d4e5f647898abcdef012345678")
	sub := mustUUID(t, "c3a9e1f012344abc9def0123456789ab")
	j, s := ForJob(job), ForSubjob(sub, job, true)
	if s.TraceID != j.TraceID || s.ParentSpanID != j.SpanID || s.SpanID == j.SpanID {
		t.Fatalf("subjob %+v not a child of job %+v", s, j)
	}
	// Stable across releases: other paths (older collectors, the SDK) depend on it.
	if got := hex.EncodeToString(j.SpanID[:]); got != spanIDGolden {
		t.Fatalf("span id of job = %s, want %s", got, spanIDGolden)
	}
}

// spanIDGolden was computed with sha256sum over the domain and the UUID bytes.
const spanIDGolden = "92ff63486946159a"

func TestOrphanSubjobIsItsOwnTrace(t *testing.T) {
	sub := mustUUID(t, "c3a9e1f012344abc9def0123456789ab")
	s := ForSubjob(sub, UUID{}, false)
	if s.TraceID != UUID(sub) || s.ParentSpanID != ([8]byte{}) {
		t.Fatalf("orphan ids %+v", s)
	}
}

func TestSpanIDNeverZero(t *testing.T) {
	for i := 0; i < 1000; i++ {
		var u UUID
		u[0], u[1] = byte(i), byte(i>>8)
		if SpanID(u) == ([8]byte{}) {
			t.Fatalf("zero span id for %x", u)
		}
	}
}
