//go:build !linux

package jobs

// threadCPU is not available: the benchmarks report wall and process times.
func threadCPU() (float64, bool) { return 0, false }
