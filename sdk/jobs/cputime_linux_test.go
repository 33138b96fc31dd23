package jobs

import "golang.org/x/sys/unix"

// threadCPU returns the CPU seconds of the calling OS thread; the caller
// locks its goroutine to the thread. clock_gettime, not getrusage: the
// kernel scales getrusage's user and system times from scheduler ticks,
// which at microseconds charges one thread's time to the wrong interval.
func threadCPU() (float64, bool) { return clockSeconds(unix.CLOCK_THREAD_CPUTIME_ID) }

// benchProcessCPU returns the CPU seconds of the whole process.
func benchProcessCPU() (float64, bool) { return clockSeconds(unix.CLOCK_PROCESS_CPUTIME_ID) }

func clockSeconds(clock int32) (float64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, false
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9, true
}
