package main

import (
	"bytes"
	"fmt"
	"testing"
)

// A patched template must be byte for byte the encoding of the events it
// stands for, or the run would not send what it claims.
func TestTemplateRendersTheEncodingOfItsEvents(t *testing.T) {
	mappings := []struct {
		name   string
		events func(start uint64) eventMapping
	}{
		{"one job after another", func(uint64) eventMapping { return eventOf }},
		// Every event of a request about another job.
		{"open jobs", func(start uint64) eventMapping { return openJobsMapping(10000, start) }},
	}
	for _, mp := range mappings {
		for _, enc := range []encoding{encV1, encOTLPJSON, encOTLPProto} {
			for _, events := range []int{1, 100} {
				batch := events > 1
				// Event numbers as the harness allocates them: cell ranges
				// start at multiples of 2e9 and a request takes the next
				// `events` numbers, so a batch always starts at a multiple of
				// 100 and a single event alternates started and finished.
				firsts := []uint64{0, 2_000_000_000 + 700, 4_000_000_000 + 1234500}
				if !batch {
					firsts = append(firsts, 1, 2_000_000_000+12345)
				}
				tmpls := [2]*template{newTemplate(enc, events, true, batch), newTemplate(enc, events, false, batch)}
				// The spans of the same events, sent after them by
				// otlp-json-spans (encoded once, for the OTLP JSON pass).
				spans := [2]*template{newSpanTemplate(events, true), newSpanTemplate(events, false)}
				for _, first := range firsts {
					start := first - first%2_000_000_000
					mapping := mp.events(start)
					evs := make([]benchEvent, events)
					for i := range evs {
						evs[i] = mapping(first + uint64(i))
					}
					what := fmt.Sprintf("%s, encoding %d, %d events from %d", mp.name, enc, events, first)
					requireSameBytes(t, what, tmpls[first%2].render(nil, first, mapping), encodeEvents(enc, evs, batch))
					if enc != encOTLPJSON {
						continue
					}
					var got []byte
					if s := spans[first%2]; s != nil {
						got = s.render(nil, first, mapping)
					}
					requireSameBytes(t, what+", spans", got, encodeSpans(evs))
				}
			}
		}
	}
}

func requireSameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: differs at byte %d of %d: got %q, want %q", what, i, len(want), got[i:min(i+60, len(got))], want[i:min(i+60, len(want))])
}

// The open-jobs workload keeps every job with one open subjob: a job's
// next subjob starts, then its previous one finishes, and consecutive
// events are about different jobs.
func TestOpenJobsWorkloadKeepsOneOpenSubjobPerJob(t *testing.T) {
	const jobs = 50
	const start = 6_000_000_000
	open := map[uint64]uint64{} // subjob -> job
	for _, e := range prefillEvents(jobs, 0) {
		if !e.ofJob {
			open[e.subjob] = e.job
		}
	}
	if len(open) != jobs {
		t.Fatalf("prefill opens %d subjobs, want one for each of %d jobs", len(open), jobs)
	}
	events := openJobsMapping(jobs, start)
	var prevJob uint64
	for n := uint64(start); n < start+10*jobs; n++ {
		e := events(n)
		if e.n != n {
			t.Fatalf("event %d has key number %d", n, e.n)
		}
		if n > start && (n-start)%2 == 0 && e.job == prevJob {
			t.Fatalf("events %d and %d are both about job %x", n-1, n, e.job)
		}
		prevJob = e.job
		if e.started {
			if _, dup := open[e.subjob]; dup {
				t.Fatalf("event %d starts subjob %x, already open", n, e.subjob)
			}
			open[e.subjob] = e.job
			continue
		}
		job, ok := open[e.subjob]
		if !ok || job != e.job {
			t.Fatalf("event %d finishes subjob %x of job %x, which is not open under that job", n, e.subjob, e.job)
		}
		delete(open, e.subjob)
		if len(open) != jobs {
			t.Fatalf("after event %d, %d subjobs are open, want %d (one per job)", n, len(open), jobs)
		}
	}
}
