package filestorageextension

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
)

func TestCheckFindsSoundFilesSound(t *testing.T) {
	synced := &bbolt.Options{PageSize: 16384, NoSync: true}
	small := &bbolt.Options{PageSize: 1024, NoSync: true, NoFreelistSync: true}
	tests := []struct {
		name string
		file func(t *testing.T) string
	}{
		{"contrib, new", func(t *testing.T) string { return contribFile(t, t.TempDir(), queueLike(0, 0, 0)) }},
		{"contrib, queue of 2000 items, 500 kept", func(t *testing.T) string { return contribFile(t, t.TempDir(), queueLike(2000, 500, 200)) }},
		{"contrib, values over several pages", func(t *testing.T) string { return contribFile(t, t.TempDir(), queueLike(50, 30, 20000)) }},
		{"contrib, queue emptied", func(t *testing.T) string { return contribFile(t, t.TempDir(), queueLike(3000, 0, 100)) }},
		{"nested and inline buckets, 1 KiB pages", func(t *testing.T) string {
			return boltFile(t, filepath.Join(t.TempDir(), "db"), small, nestedBuckets)
		}},
		{"nested buckets, synced freelist, 16 KiB pages", func(t *testing.T) string {
			path := boltFile(t, filepath.Join(t.TempDir(), "db"), synced, nestedBuckets)
			return boltFile(t, path, synced, func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("top-2")) })
		}},
		{"100,000 keys, 1 KiB pages", func(t *testing.T) string {
			return boltFile(t, filepath.Join(t.TempDir(), "db"), small, func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucket([]byte("default"))
				for i := 0; err == nil && i < 100000; i++ {
					err = b.Put([]byte(fmt.Sprintf("%08d", i*7919%100000)), []byte("v"))
				}
				return err
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.file(t)
			require.NoError(t, checkFile(path, time.Second))
			require.NoError(t, usable(path))
		})
	}
}

// damageBase is a contrib queue file with items kept and free pages, its
// size in pages and each page's type as bbolt sees it.
func damageBase(t *testing.T) (file []byte, hwm int, types []string) {
	t.Helper()
	path := contribFile(t, t.TempDir(), queueLike(300, 120, 900))
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bbolt.Tx) error {
		hwm = int(tx.Size()) / db.Info().PageSize
		for i := 0; i < hwm; i++ {
			p, err := tx.Page(i)
			if err != nil {
				return err
			}
			types = append(types, p.Type)
		}
		return nil
	}))
	require.NoError(t, db.Close())
	file, err = os.ReadFile(path) //nolint:gosec // the test's own file
	require.NoError(t, err)
	require.Greater(t, hwm, 20)
	return file, hwm, types
}

func TestCheckFindsDamage(t *testing.T) {
	base, hwm, types := damageBase(t)
	const ps = 4096
	file := newScratch(t)
	// variants and damaged ones, by kind of damage
	tally := map[string]*[2]int{}
	check := func(t *testing.T, b []byte) bool {
		t.Helper()
		damaged := checkedOrUsable(t, file.write(b))
		name := filepath.Base(t.Name())
		n := tally[name]
		if n == nil {
			n = &[2]int{}
			tally[name] = n
		}
		n[0]++
		if damaged {
			n[1]++
		}
		return damaged
	}
	defer func() {
		var figures []string
		for name, n := range tally {
			figures = append(figures, fmt.Sprintf("%s: %d of %d damaged", name, n[1], n[0]))
		}
		sort.Strings(figures)
		t.Logf("FIGURES a contrib queue file of %d bytes, %d pages below the high-water mark; found damaged (the others opened, read, written and checked by bbolt): %s", len(base), hwm, strings.Join(figures, "; "))
	}()

	t.Run("truncated", func(t *testing.T) {
		offsets := []int{1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 12000}
		for o := 3 * ps / 2; o < len(base); o += ps / 2 {
			offsets = append(offsets, o)
		}
		for _, o := range offsets {
			damaged := check(t, base[:o])
			assert.Equal(t, o < hwm*ps, damaged, "cut at %d bytes of %d (%d pages in the file)", o, len(base), hwm)
		}
	})
	t.Run("a page zeroed", func(t *testing.T) {
		for i := range hwm {
			b := append([]byte(nil), base...)
			clear(b[i*ps : (i+1)*ps])
			damaged := check(t, b)
			if i >= 2 && types[i] != "free" {
				assert.True(t, damaged, "page %d (%s) zeroed", i, types[i])
			}
			if types[i] == "free" {
				assert.False(t, damaged, "free page %d zeroed", i)
			}
		}
	})
	t.Run("a page of random bytes", func(t *testing.T) {
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := range hwm {
			for range 3 {
				b := append([]byte(nil), base...)
				for j := i * ps; j < (i+1)*ps; j++ {
					b[j] = byte(rnd.Uint32())
				}
				damaged := check(t, b)
				if i >= 2 && types[i] != "free" {
					assert.True(t, damaged, "page %d (%s) garbled", i, types[i])
				}
			}
		}
	})
	t.Run("bytes flipped", func(t *testing.T) {
		// Every page header and the first elements of every page.
		for i := range hwm {
			for _, off := range []int{0, 8, 10, 12, 16, 20, 24, 28, 32, 40, 48} {
				for _, v := range []byte{0x00, 0x01, 0x7f, 0xff} {
					b := append([]byte(nil), base...)
					b[i*ps+off] ^= v | 1
					check(t, b)
				}
			}
		}
	})
	t.Run("both meta pages zeroed", func(t *testing.T) {
		b := append([]byte(nil), base...)
		clear(b[:2*ps])
		assert.True(t, check(t, b))
	})
	t.Run("garbage", func(t *testing.T) {
		rnd := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{1, 5, 4096, 8192, 65536, len(base)} {
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rnd.Uint32())
			}
			assert.True(t, check(t, b), "%d random bytes", n)
			assert.True(t, check(t, make([]byte, n)), "%d zero bytes", n)
		}
	})
}

func TestCheckFileInPlace(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		assert.NoError(t, checkFile(filepath.Join(t.TempDir(), "none"), time.Second))
	})
	t.Run("empty: bbolt initialises it", func(t *testing.T) {
		path := newScratch(t).write(nil)
		assert.False(t, checkedOrUsable(t, path))
	})
	t.Run("a directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dir")
		require.NoError(t, os.Mkdir(path, 0o700))
		assert.ErrorContains(t, checkFile(path, time.Second), "a directory is in the file's place")
	})
}
