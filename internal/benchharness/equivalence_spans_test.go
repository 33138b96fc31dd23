package main

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// The spans otlp-json-spans sends must be the spans the real collector's
// wafermonitor receiver makes of the same v1 events: one per finished
// subjob, none of a started one, equal field for field. The receiver sets
// no field of a span from the time it received the event (the span starts
// duration_s before the event's time and ends at it), so nothing is left
// out of the comparison.
func TestOTLPSpansAreWhatTheReceiverMakesOfTheEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ec := startEquivalenceCollector(t)
	var spansForm protocol
	for _, p := range protocols {
		if p.name == protoOTLPSpans {
			spansForm = p
		}
	}
	require.True(t, spansForm.spans)
	// A started and a finished event, one per request; then a batch of two
	// subjobs' started and finished events.
	requests := []struct {
		m     mode
		first uint64
	}{{mode{events: 1}, 0}, {mode{events: 1}, 1}, {mode{events: 4}, 100}}
	want := map[string]bool{}
	for _, rq := range requests {
		for _, p := range []protocol{protocols[0], spansForm} {
			ec.send(t, p, rq.m, rq.first)
		}
		for n := rq.first; n < rq.first+uint64(rq.m.events); n++ {
			if e := eventOf(n); !e.started {
				id := e.ids().SpanID
				want[hex.EncodeToString(id[:])] = true
			}
		}
	}
	require.Len(t, want, 3)

	var got []ptrace.Traces
	testcollector.WaitFor(t, 20*time.Second, fmt.Sprintf("%d spans in the file", 2*len(want)), func() bool {
		got = readSpans(t, ec.traces)
		return len(got) >= 2*len(want)
	})
	require.Len(t, got, 2*len(want), "a span of a started event, or a span twice")
	bySpan := map[string][]ptrace.Traces{}
	for _, s := range got {
		id := s.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID()
		bySpan[hex.EncodeToString(id[:])] = append(bySpan[hex.EncodeToString(id[:])], s)
	}
	for id, spans := range bySpan {
		require.True(t, want[id], "span %s is of no finished subjob", id)
		// One from the v1 receiver, one from the otlp receiver.
		require.Len(t, spans, 2, id)
		require.NoError(t, ptracetest.CompareTraces(spans[0], spans[1]), id)
	}
}

// readSpans is every span of the file as a ptrace.Traces of its own, with
// its resource and scope.
func readSpans(t *testing.T, path string) []ptrace.Traces {
	var all []ptrace.Traces
	for _, line := range testcollector.ReadJSONLines(t, path) {
		tr, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			break // a line still being written
		}
		for i := 0; i < tr.ResourceSpans().Len(); i++ {
			rs := tr.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					one := ptrace.NewTraces()
					ors := one.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(ors.Resource())
					oss := ors.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(oss.Scope())
					ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
					all = append(all, one)
				}
			}
		}
	}
	return all
}
