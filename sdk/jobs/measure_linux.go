package jobs

import (
	"os"
	"sync"
)

var (
	statmOnce sync.Once
	statm     *os.File
	pageSize  = float64(os.Getpagesize())
)

// currentRSS reads the resident set size from /proc/self/statm. The file
// stays open: re-reading it from offset 0 regenerates its content, so a
// sample costs one system call.
func currentRSS() (float64, bool) {
	statmOnce.Do(func() {
		f, err := os.Open("/proc/self/statm")
		if err == nil {
			statm = f
		}
	})
	if statm == nil {
		return 0, false
	}
	var buf [128]byte
	n, _ := statm.ReadAt(buf[:], 0)
	// The second field counts resident pages.
	i := 0
	for i < n && buf[i] != ' ' {
		i++
	}
	i++
	var pages uint64
	digits := 0
	for ; i < n && buf[i] >= '0' && buf[i] <= '9'; i++ {
		pages = pages*10 + uint64(buf[i]-'0')
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	return float64(pages) * pageSize / mib, true
}
