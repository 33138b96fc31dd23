package jobs

import (
	"sync/atomic"
	"time"
)

// sample is the state of the process at one moment.
type sample struct {
	at      time.Time
	cpuUser float64 // seconds since the process started
	cpuSys  float64
	rss     float64 // current resident set size, MiB
	maxRSS  float64 // the process's peak resident set size so far, MiB
	ok      bool    // false when the platform could not be sampled
}

// sampler takes process samples, sharing one among callers that ask within
// maxAge of each other: a sample costs a few system calls, and subjobs often
// start and end in bursts.
type sampler struct {
	maxAge time.Duration
	last   atomic.Pointer[sample]
}

func newSampler(maxAge time.Duration) *sampler {
	return &sampler{maxAge: maxAge}
}

func (s *sampler) take(now time.Time) *sample {
	if last := s.last.Load(); last != nil && s.maxAge > 0 {
		if age := now.Sub(last.at); age >= 0 && age < s.maxAge {
			return last
		}
	}
	smp := &sample{at: now}
	var cpuOK, rssOK bool
	smp.cpuUser, smp.cpuSys, smp.maxRSS, cpuOK = processCPU()
	smp.rss, rssOK = currentRSS()
	smp.ok = cpuOK || rssOK
	if smp.rss > smp.maxRSS {
		smp.maxRSS = smp.rss
	}
	s.last.Store(smp)
	return smp
}

const mib = 1 << 20
