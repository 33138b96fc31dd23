package jobhierarchyprocessor

import (
	"context"
	"testing"
	"time"
)

// FuzzRestore feeds arbitrary stored state to restore and runs a check on
// what it made of it: a damaged or hostile state file must never crash the
// processor. Seeds are in testdata/fuzz/FuzzRestore.
func FuzzRestore(f *testing.F) {
	f.Fuzz(func(t *testing.T, entities, jobs []byte) {
		hs := newHarness(t, testConfig(), nil)
		hs.h.client = &memClient{data: map[string][]byte{entitiesKey(0): entities, jobsKey(0): jobs}}
		if err := hs.h.restore(context.Background()); err != nil {
			t.Fatal(err)
		}
		hs.clock.advance(48 * time.Hour)
		hs.tick()
		hs.h.client = nil
	})
}
