//go:build unix

package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"errors"
	"os"
	"syscall"
	"time"
)

var errLockTimeout = errors.New("timed out waiting for the file's lock")

// lockShared takes a shared flock on f as bbolt does for a read-only open,
// retrying every 50 ms for up to timeout (0: for ever). Closing f releases it.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) //nolint:gosec // a file descriptor fits an int
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if timeout > 0 && time.Now().After(deadline) {
			return errLockTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mapFile maps f's size bytes read-only, as bbolt reads it; the check reads
// only what lies inside the file, and a read fault (an I/O error of the
// disk) is recovered as a panic (see verifyMapped).
func mapFile(f *os.File, size int64) (data []byte, unmap func(), err error) {
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED) //nolint:gosec // a file descriptor fits an int
	if err != nil {
		return nil, nil, err
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}
