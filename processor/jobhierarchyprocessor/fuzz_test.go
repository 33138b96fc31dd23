package jobhierarchyprocessor

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/entity"
)

// FuzzRestore feeds arbitrary state of the first format to restore and runs
// a check on what it made of it: a damaged or hostile state file must never
// crash the processor. Seeds are in testdata/fuzz/FuzzRestore.
func FuzzRestore(f *testing.F) {
	f.Fuzz(func(t *testing.T, entities, jobs []byte) {
		client := newMemClient()
		client.data[legacyEntitiesKey(0)], client.data[legacyJobsKey(0)] = entities, jobs
		hs := newStoredHarness(t, testConfig(), client, base)
		hs.clock.advance(48 * time.Hour)
		hs.tick()
	})
}

// FuzzRestoreState feeds an arbitrary index, snapshot chunk and journal
// entry to restore, then runs a check and a checkpoint: never a crash, and
// what the processor holds after the checkpoint is what a restart restores.
// (The check may close what was restored: an entity opened decades before
// the clock is past its max_duration and given up.) Seeds are in
// testdata/fuzz/FuzzRestoreState.
func FuzzRestoreState(f *testing.F) {
	f.Fuzz(func(t *testing.T, index, chunk, entry []byte) {
		client := newMemClient()
		client.data[stateKey] = index
		client.data[snapshotKey(1, 0)] = chunk
		client.data[journalKey(0)] = entry
		hs := newStoredHarness(t, testConfig(), client, base)
		hs.tick()
		want := dumpState(hs.h)
		again := newStoredHarness(t, testConfig(), client.crashCopy(), base)
		require.Equal(t, want.Entities, dumpState(again.h).Entities)
		hs.clock.advance(48 * time.Hour)
		hs.tick()
	})
}

// FuzzDecodeBatch: any bytes decode or fail cleanly, and what decodes
// encodes to bytes that decode the same. Seeds are in
// testdata/fuzz/FuzzDecodeBatch.
func FuzzDecodeBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if err != nil {
			return
		}
		again, err := decodeBatch(encodeBatch(b))
		require.NoError(t, err)
		require.True(t, bytes.Equal(encodeBatch(b), encodeBatch(again)))
	})
}

// TestFuzzSeedsAreValid keeps the committed seeds meaningful: the valid ones
// restore state.
func TestFuzzSeedsAreValid(t *testing.T) {
	b, err := decodeBatch(validBatchSeed(t))
	require.NoError(t, err)
	require.NotEmpty(t, b.entities)
	require.NotEmpty(t, b.summaries)
	require.NotEmpty(t, b.newIDs[0])
}

// validBatchSeed is the snapshot of a busy state, as stored.
func validBatchSeed(t testing.TB) []byte {
	client := newMemClient()
	hs := newStoredHarness(t, storageConfig(), client, base)
	busyState(hs, func() {})
	hs.h.store.needSnapshot = true
	hs.tick()
	return client.data[snapshotKey(hs.h.store.index.Gen, 0)]
}

// TestEveryResourceFieldIsStored breaks when entity.Resource gains a field
// that resourceFields does not store.
func TestEveryResourceFieldIsStored(t *testing.T) {
	var r entity.Resource
	v := reflect.ValueOf(&r).Elem()
	for i := 0; i < v.NumField(); i++ {
		v.Field(i).SetString(fmt.Sprintf("value %d", i))
	}
	require.Len(t, resourceFields(r), v.NumField())
	require.Equal(t, r, resourceOf(resourceFields(r)))
	require.Equal(t, entity.Resource{ServiceName: "svc"}, resourceOf([]string{"svc"}), "a part written before a field existed")
}
