//go:build linux

package filestorageextension

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// TestCheckFileLinux: what only a unix system has in a file's place, or
// around it.
func TestCheckFileLinux(t *testing.T) {
	t.Run("a named pipe", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		require.NoError(t, syscall.Mkfifo(path, 0o600))
		assert.ErrorContains(t, checkFile(path, time.Second), "not a regular file")
	})
	t.Run("no permission to read", func(t *testing.T) {
		dir := t.TempDir()
		path := contribFile(t, dir, queueLike(10, 5, 10))
		require.NoError(t, os.Chmod(path, 0o000))
		err := checkFileAsNobody(t, dir, path)
		var d *damagedError
		require.ErrorAs(t, err, &d)
		assert.Contains(t, d.problem, "permission denied")
	})
	t.Run("locked by another process", func(t *testing.T) {
		path := contribFile(t, t.TempDir(), queueLike(10, 5, 10))
		db, err := bbolt.Open(path, 0o600, contribOptions())
		require.NoError(t, err)
		defer db.Close()
		err = checkFile(path, 100*time.Millisecond)
		require.ErrorIs(t, err, errLockTimeout)
		var d *damagedError
		assert.False(t, errors.As(err, &d), "a locked file is not damaged")
	})
}

// checkFileAsNobody runs the check with the file system permissions of user
// nobody, as a collector that does not run as root: root reads any file.
func checkFileAsNobody(t *testing.T, dir, path string) error {
	t.Helper()
	if os.Geteuid() != 0 {
		return checkFile(path, time.Second)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} { // t.TempDir's own directories are 0700
		require.NoError(t, os.Chmod(d, 0o755)) //nolint:gosec // nobody must reach the file to be refused by it
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const nobody = 65534
	prev, _ := unix.SetfsuidRetUid(nobody)
	defer func() { _, _ = unix.SetfsuidRetUid(prev) }()
	return checkFile(path, time.Second)
}
