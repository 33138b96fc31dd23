//go:build !linux

package jobs

func threadCPU() (float64, bool) { return 0, false }

func benchProcessCPU() (float64, bool) {
	u, s, _, ok := processCPU()
	return u + s, ok
}
