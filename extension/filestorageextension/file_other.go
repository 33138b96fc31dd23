//go:build !unix

package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"errors"
	"io"
	"os"
	"time"
)

var errLockTimeout = errors.New("timed out waiting for the file's lock")

// lockShared does nothing where flock is missing: a file that another
// process is writing may then be found damaged.
func lockShared(*os.File, time.Duration) error { return nil }

// mapFile reads the whole file where mmap is not at hand.
func mapFile(f *os.File, size int64) (data []byte, unmap func(), err error) {
	data = make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
