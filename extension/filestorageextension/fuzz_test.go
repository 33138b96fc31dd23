package filestorageextension

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
)

// FuzzCheckFile gives the check any bytes as a file. It must never crash,
// and a file it does not find damaged must be one bbolt opens, reads,
// writes and checks without error (GetClient moves the others aside,
// TestGetClientMovesDamagedFileAside). With fixMeta the input's meta pages
// get the bbolt magic number, version and checksums, so that inputs reach
// the page tree.
func FuzzCheckFile(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, false)
		f.Add(seed, true)
		f.Add(seed[:len(seed)/2], false)
	}
	f.Fuzz(func(t *testing.T, data []byte, fixMeta bool) {
		if fixMeta {
			fixMetaPages(data)
		}
		path := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		err := checkFile(path, time.Second)
		var damaged *damagedError
		if errors.As(err, &damaged) {
			return
		}
		require.NoError(t, err, "the check could not tell")
		require.NoError(t, usable(path), "found sound but bbolt cannot use it")
	})
}

// fuzzSeeds are sound files of every shape the check walks, small: 1 KiB
// pages where bbolt allows it.
func fuzzSeeds(f *testing.F) [][]byte {
	dir := f.TempDir()
	small := &bbolt.Options{PageSize: 1024, NoSync: true, NoFreelistSync: true}
	synced := &bbolt.Options{PageSize: 1024, NoSync: true}
	paths := []string{
		boltFile(f, filepath.Join(dir, "nested"), small, nestedBuckets),
		boltFile(f, filepath.Join(dir, "synced"), synced, nestedBuckets),
		boltFile(f, filepath.Join(dir, "overflow"), small, func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket([]byte("default"))
			if err != nil {
				return err
			}
			return b.Put([]byte("big"), make([]byte, 3000))
		}),
	}
	// A new contrib file (4 KiB pages).
	paths = append(paths, contribFile(f, dir, queueLike(0, 0, 0)))
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p) //nolint:gosec // the test's own file
		require.NoError(f, err)
		// Without the room bbolt grows its files by: the pages in use.
		ps := int(native.Uint32(b[pageHeaderSize+8:]))
		m := parseMeta(b[pageHeaderSize:])
		if n := parseMeta(b[ps+pageHeaderSize:]); n.txid > m.txid {
			m = n
		}
		seeds = append(seeds, b[:int(m.pgid)*ps])
	}
	return seeds
}

// fixMetaPages makes the meta pages at 0 and at the page size the first
// one names valid: magic number, version, checksum.
func fixMetaPages(data []byte) {
	fix := func(at int) {
		if at < 0 || at+pageHeaderSize+metaSize > len(data) {
			return
		}
		m := data[at+pageHeaderSize : at+pageHeaderSize+metaSize]
		native.PutUint32(m, boltMagic)
		native.PutUint32(m[4:], boltVersion)
		h := fnv.New64a()
		_, _ = h.Write(m[:metaChecksummed])
		binary.NativeEndian.PutUint64(m[metaChecksummed:], h.Sum64())
	}
	fix(0)
	if len(data) >= pageHeaderSize+metaSize {
		if ps := int(native.Uint32(data[pageHeaderSize+8:])); ps >= minPageSize && ps <= maxPageSize {
			fix(ps)
		}
	}
}
