//go:build !unix

package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"os"
	"time"
)

// lockShared does nothing where flock is missing: a file that another
// process is writing may then be found damaged.
func lockShared(*os.File, time.Duration) error { return nil }
