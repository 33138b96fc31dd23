package filestorageextension

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
)

// contribOptions are the options contrib's file_storage opens its files
// with (client.go, bboltOptions).
func contribOptions() *bbolt.Options {
	return &bbolt.Options{Timeout: time.Second, NoSync: true, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}
}

// contribFile writes a file the way contrib's client does: through the
// client itself, in its "default" bucket.
func contribFile(t testing.TB, dir string, write func(c storage.Client)) string {
	t.Helper()
	cfg := filestorage.NewFactory().CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := filestorage.NewFactory().Create(context.Background(), extensiontest.NewNopSettings(component.MustNewType("file_storage")), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), nil))
	owner := component.MustNewID("csv")
	c, err := ext.(storage.Extension).GetClient(context.Background(), component.KindExporter, owner, "logs")
	require.NoError(t, err)
	write(c)
	require.NoError(t, c.Close(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	return filepath.Join(dir, fileName(component.KindExporter, owner, "logs"))
}

// queueLike writes and deletes keys the way a persistent queue does, with
// values of the given size: items [0, n) written, the first n-keep deleted.
func queueLike(n, keep, size int) func(c storage.Client) {
	return func(c storage.Client) {
		ctx := context.Background()
		value := make([]byte, size)
		for i := range n {
			value[0] = byte(i)
			if err := c.Batch(ctx, storage.SetOperation(queueMetadataKey, []byte{9, 1, 0, 0, 0, 0, 0, 0, 0}),
				storage.SetOperation(strconv.Itoa(i), value)); err != nil {
				panic(err)
			}
		}
		for i := range n - keep {
			if err := c.Delete(ctx, strconv.Itoa(i)); err != nil {
				panic(err)
			}
		}
	}
}

// boltFile writes a file with bbolt directly, for what contrib never
// writes: other page sizes, nested and inline buckets, a synced freelist.
func boltFile(t testing.TB, path string, opts *bbolt.Options, fill func(tx *bbolt.Tx) error) string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, opts)
	require.NoError(t, err)
	require.NoError(t, db.Update(fill))
	require.NoError(t, db.Close())
	return path
}

// nestedBuckets fills buckets within buckets, some inline, some with page
// trees of their own.
func nestedBuckets(tx *bbolt.Tx) error {
	for b := range 3 {
		top, err := tx.CreateBucketIfNotExists([]byte(fmt.Sprintf("top-%d", b)))
		if err != nil {
			return err
		}
		for k := range 50 * b {
			if err := top.Put([]byte(fmt.Sprintf("key-%04d", k)), make([]byte, 40)); err != nil {
				return err
			}
		}
		small, err := top.CreateBucketIfNotExists([]byte("inline"))
		if err != nil {
			return err
		}
		if err := small.Put([]byte("a"), []byte("b")); err != nil {
			return err
		}
		deeper, err := small.CreateBucketIfNotExists([]byte("deeper"))
		if err != nil {
			return err
		}
		if err := deeper.Put([]byte("c"), []byte("d")); err != nil {
			return err
		}
	}
	return nil
}

// usable is what a file found sound must be: bbolt opens it with contrib's
// options (which rebuild the freelist by walking every page; without the
// fsync when the file grows, which changes nothing in it), every key
// can be read, written and deleted, and then bbolt's own consistency check
// finds nothing. The check comes after two commits, which rewrite both
// meta pages: it asserts on a damaged meta page's header that bbolt itself
// falls back from. A file that is not usable fails the test or crashes it.
func usable(path string) error {
	opts := contribOptions()
	opts.NoGrowSync = true
	db, err := bbolt.Open(path, 0o600, opts)
	if err != nil {
		return fmt.Errorf("bbolt.Open: %w", err)
	}
	defer func() { _ = db.Close() }()
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := readAll(tx.Cursor()); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists([]byte("default"))
		if err != nil {
			return err
		}
		for i := range 20 {
			if err := b.Put([]byte(fmt.Sprintf("new-%d", i)), make([]byte, 300)); err != nil {
				return err
			}
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if err := c.Delete(); err != nil && !errors.Is(err, berrors.ErrIncompatibleValue) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("default")).Put([]byte("k"), []byte("v")) }); err != nil {
		return err
	}
	leaked, err := checkDB(db)
	if err != nil || !leaked {
		return err
	}
	// Pages that a stored freelist left out are neither reachable nor
	// free: space lost, not data. bbolt stores no freelist with contrib's
	// options, so the next open finds them by walking the tree: they must
	// be free then, and nothing else wrong.
	if err := db.Close(); err != nil {
		return err
	}
	if db, err = bbolt.Open(path, 0o600, opts); err != nil {
		return fmt.Errorf("bbolt.Open again: %w", err)
	}
	if leaked, err = checkDB(db); leaked {
		return errors.New("bbolt's check after opening again: pages still neither reachable nor free")
	}
	return err
}

// checkDB runs bbolt's consistency check; leaked says its only findings
// were pages neither reachable nor free.
func checkDB(db *bbolt.DB) (leaked bool, err error) {
	err = db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			if strings.HasSuffix(err.Error(), ": unreachable unfreed") {
				leaked = true
				continue
			}
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("bbolt's check after writing: %w", errors.Join(errs...))
		}
		return nil
	})
	return leaked && err == nil, err
}

// readAll reads every key and value of a bucket's cursor, buckets within
// included.
func readAll(c *bbolt.Cursor) error {
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			_ = append([]byte(nil), v...)
			continue
		}
		if child := c.Bucket().Bucket(k); child != nil {
			if err := readAll(child.Cursor()); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkedOrUsable is the promise for any file: the check finds it damaged,
// or bbolt can use it.
func checkedOrUsable(t *testing.T, path string) (damaged bool) {
	t.Helper()
	err := checkFile(path, time.Second)
	var d *damagedError
	if errors.As(err, &d) {
		return true
	}
	require.NoError(t, err, "the check could not tell")
	require.NoError(t, usable(path), "found sound but bbolt cannot use it")
	return false
}

// scratch is one file, rewritten for every case of a test.
type scratch struct {
	t    *testing.T
	path string
}

func newScratch(t *testing.T) *scratch {
	return &scratch{t: t, path: filepath.Join(t.TempDir(), "copy")}
}

// write replaces the file's contents with b.
func (s *scratch) write(b []byte) string {
	s.t.Helper()
	require.NoError(s.t, os.RemoveAll(s.path))
	require.NoError(s.t, os.WriteFile(s.path, b, 0o600))
	return s.path
}
