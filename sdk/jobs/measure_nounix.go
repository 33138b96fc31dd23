//go:build !unix

package jobs

// processCPU asks gopsutil where there is no getrusage. The peak resident
// set size is not known; the sampled values stand in for it.
func processCPU() (user, sys, maxRSS float64, ok bool) {
	p := selfProcess()
	if p == nil {
		return 0, 0, 0, false
	}
	t, err := p.Times()
	if err != nil {
		return 0, 0, 0, false
	}
	return t.User, t.System, 0, true
}
