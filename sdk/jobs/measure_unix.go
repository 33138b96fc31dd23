//go:build unix

package jobs

import (
	"runtime"
	"syscall"
)

// processCPU returns the process's user and system CPU seconds and its peak
// resident set size in MiB, from one getrusage call.
func processCPU() (user, sys, maxRSS float64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0, false
	}
	user = float64(ru.Utime.Sec) + float64(ru.Utime.Usec)/1e6
	sys = float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
	maxRSS = float64(ru.Maxrss) / 1024 // kilobytes on Linux and the BSDs
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		maxRSS = float64(ru.Maxrss) / mib // bytes on Apple systems
	}
	return user, sys, maxRSS, true
}
