//go:build !linux

package jobs

import (
	"os"
	"sync"

	"github.com/shirou/gopsutil/v4/process"
)

var (
	selfOnce sync.Once
	self     *process.Process
)

func selfProcess() *process.Process {
	selfOnce.Do(func() {
		p, err := process.NewProcess(int32(os.Getpid())) //nolint:gosec // PIDs fit in 32 bits
		if err == nil {
			self = p
		}
	})
	return self
}

// currentRSS asks gopsutil where there is no /proc to read.
func currentRSS() (float64, bool) {
	p := selfProcess()
	if p == nil {
		return 0, false
	}
	m, err := p.MemoryInfo()
	if err != nil {
		return 0, false
	}
	return float64(m.RSS) / mib, true
}
