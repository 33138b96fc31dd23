package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"time"
)

// damagedError says why a storage file cannot be used and must be moved
// aside.
type damagedError struct{ problem string }

func (e *damagedError) Error() string { return e.problem }

func damagedf(format string, args ...any) error {
	return &damagedError{problem: fmt.Sprintf(format, args...)}
}

// checkFile tells whether the bbolt file at path can be opened: nil when it
// is sound, absent or empty (bbolt creates or initialises it), a
// *damagedError when it must be moved aside, and any other error when it
// cannot tell (the directory cannot be read, another process holds the
// file's lock beyond timeout).
func checkFile(path string, timeout time.Duration) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case info.IsDir():
		return damagedf("a directory is in the file's place")
	case !info.Mode().IsRegular():
		return damagedf("not a regular file (%s)", info.Mode().Type())
	}
	f, err := os.Open(path) //nolint:gosec // the storage directory's own file
	switch {
	case errors.Is(err, fs.ErrPermission):
		return damagedf("cannot be read: %v", err)
	case err != nil:
		return err
	}
	defer func() { _ = f.Close() }()
	// The same lock bbolt takes: a file another collector has open is in
	// use, not damaged, and may be half written.
	if err := lockShared(f, timeout); err != nil {
		return fmt.Errorf("%s is locked by another process (another collector on the same directory?): %w", path, err)
	}
	if info, err = f.Stat(); err != nil {
		return err
	}
	if info.Size() == 0 {
		return nil
	}
	data, unmap, err := mapFile(f, info.Size())
	if err != nil {
		return fmt.Errorf("mapping %s: %w", path, err)
	}
	defer unmap()
	return verifyMapped(data)
}

// verifyMapped runs verifyBolt on a mapped file. Reading a page the disk
// cannot deliver faults; that, or any panic of the check, means the file
// cannot be used.
func verifyMapped(data []byte) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damagedf("cannot be read: %v", r)
		}
	}()
	return verifyBolt(data)
}
