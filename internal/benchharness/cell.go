package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// mode is the shape of the load: closed loop with a number of clients each
// sending its next request when the previous one is answered, or open loop
// at a fixed request rate.
type mode struct {
	name    string
	clients int
	events  int // per request
	rate    int // requests/s; 0 = closed loop
	// openJobs: the events report subjobs of the jobs the pipeline holds
	// open (openJobsMapping) rather than one job after another.
	openJobs bool
}

func (m mode) batch() bool { return m.events > 1 }

// The closed-loop load shapes. Batches go with 4 clients so that the
// collector, not a client's round trip, is the bottleneck.
var closedModes = []mode{
	{name: "single, 1 client", clients: 1, events: 1},
	{name: "single, 16 clients", clients: 16, events: 1},
	{name: "single, 64 clients", clients: 64, events: 1},
	{name: "batch of 100, 4 clients", clients: 4, events: 100},
}

// The closed modes the targets read.
var (
	modeSingle16 = closedModes[1]
	modeBatch    = closedModes[3]
)

func openMode(rate int) mode {
	return mode{name: fmt.Sprintf("single, open loop at %d req/s", rate), events: 1, rate: rate}
}

func openJobsMode(rate, jobs int) mode {
	return mode{name: fmt.Sprintf("single, open loop at %d req/s, %d open jobs", rate, jobs), events: 1, rate: rate, openJobs: true}
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// slug is a name as a file name part.
func slug(s string) string {
	return strings.Trim(slugRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// measureCell runs one cell and reads what the collector did meanwhile:
// CPU, peak RSS, disk and write() bytes, CSV growth, the Go allocator's
// work and, when profileDir is set, a CPU profile over the load and a heap
// profile after it. The cell's CPU and I/O include the settle time after
// the load, in which the collector finishes the cell's work (the batch and
// queue flushes, the state checkpoint).
func measureCell(ctx context.Context, c *collector, key cellKey, r *requester, m mode, d time.Duration, profileDir string) (sample, error) {
	var profileDone chan struct{}
	var cpuPath, heapPath string
	if profileDir != "" {
		base := filepath.Join(profileDir, fmt.Sprintf("%s-%s-%s", key.pipeline, key.protocol, slug(key.mode)))
		cpuPath, heapPath = base+".cpu.pprof", base+".heap.pprof"
		profileDone = make(chan struct{})
		go func() {
			defer close(profileDone)
			if err := c.saveProfile(ctx, fmt.Sprintf("profile?seconds=%d", max(1, int(d.Seconds()))), cpuPath); err != nil {
				log.Printf("CPU profile %s: %v", cpuPath, err)
				cpuPath = ""
			}
		}()
	}
	ms0, msErr := c.memStats(ctx)
	csv0 := c.csvFiles()
	_ = c.resetPeakRSS()
	io0, err := c.io()
	if err != nil {
		return sample{}, c.died(err)
	}
	cpu0, err := c.cpu()
	if err != nil {
		return sample{}, c.died(err)
	}
	var s sample
	if m.rate > 0 {
		s = openLoop(ctx, r, m, d)
	} else {
		s = closedLoop(ctx, r, m, d)
	}
	time.Sleep(c.settle)
	cpu1, err := c.cpu()
	if err != nil {
		return sample{}, c.died(err)
	}
	io1, err := c.io()
	if err != nil {
		return sample{}, c.died(err)
	}
	s.cpu, s.io = cpu1-cpu0, io1.sub(io0)
	s.peakRSS = c.notePeak()
	s.csvBytes = growth(csv0, c.csvFiles())
	if ms1, err := c.memStats(ctx); err == nil && msErr == nil {
		s.mem = ms1.sub(ms0)
	}
	if profileDone != nil {
		<-profileDone
		s.cpuProfile = cpuPath
		if err := c.saveProfile(ctx, "heap", heapPath); err != nil {
			log.Printf("heap profile %s: %v", heapPath, err)
		} else {
			s.heapProfile = heapPath
		}
	}
	return s, nil
}

// died is err with the collector's last output, for a collector that can
// no longer be read.
func (c *collector) died(err error) error {
	return fmt.Errorf("collector %s: %w (its last output: %s)", c.pipeline.name, err, c.output.String())
}
