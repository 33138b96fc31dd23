package main

import (
	"bytes"
	"testing"
)

// A patched template must be byte for byte the encoding of the events it
// stands for, or the run would not send what it claims.
func TestTemplateRendersTheEncodingOfItsEvents(t *testing.T) {
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
			for _, first := range firsts {
				got := tmpls[first%2].render(nil, first)
				evs := make([]benchEvent, events)
				for i := range evs {
					evs[i] = eventOf(first + uint64(i))
				}
				want := encodeEvents(enc, evs, batch)
				if !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Fatalf("encoding %d, %d events from %d: differs at byte %d of %d: got %q, want %q",
						enc, events, first, i, len(want), got[i:min(i+60, len(got))], want[i:min(i+60, len(want))])
				}
			}
		}
	}
}
