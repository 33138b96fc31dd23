package jobs

import "syscall"

const rusageThread = 1 // RUSAGE_THREAD

// threadCPU returns the CPU seconds of the calling OS thread; the caller
// locks its goroutine to the thread.
func threadCPU() (float64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6, true
}
