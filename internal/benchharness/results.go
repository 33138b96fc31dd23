package main

import (
	"time"
)

type cellKey struct {
	pipeline, protocol, mode string
}

// agg is a cell summed over the rounds.
type agg struct {
	sample
	rounds    []sample
	sortedLat bool
}

func (a *agg) add(s sample) {
	a.requests += s.requests
	a.events += s.events
	a.errors += s.errors
	a.byStatus = addCounts(a.byStatus, s.byStatus)
	if a.firstErr == "" {
		a.firstErr = s.firstErr
	}
	a.elapsed += s.elapsed
	a.cpu += s.cpu
	a.late += s.late
	a.peakRSS = max(a.peakRSS, s.peakRSS)
	a.io.writeBytes += s.io.writeBytes
	a.io.wchar += s.io.wchar
	a.csvBytes += s.csvBytes
	a.mem.add(s.mem)
	if s.cpuProfile != "" {
		a.cpuProfile = s.cpuProfile
	}
	if s.heapProfile != "" {
		a.heapProfile = s.heapProfile
	}
	a.latencies = append(a.latencies, s.latencies...)
	s.latencies = nil
	a.rounds = append(a.rounds, s)
}

func (a *agg) eventsPerSec() float64 {
	if a.elapsed <= 0 {
		return 0
	}
	return float64(a.events) / a.elapsed.Seconds()
}

// cpuPerMillion is collector CPU-seconds per million events.
func (a *agg) cpuPerMillion() float64 {
	if a.events == 0 {
		return 0
	}
	return a.cpu.Seconds() / float64(a.events) * 1e6
}

// efficiency is events per collector CPU-second.
func (a *agg) efficiency() float64 {
	if a.cpu <= 0 {
		return 0
	}
	return float64(a.events) / a.cpu.Seconds()
}

// perEvent divides a count of the cell by its accepted events.
func (a *agg) perEvent(n int64) float64 {
	if a.events == 0 {
		return 0
	}
	return float64(n) / float64(a.events)
}

func (a *agg) pct(p float64) time.Duration {
	if !a.sortedLat {
		sortDurations(a.latencies)
		a.sortedLat = true
	}
	return percentile(a.latencies, p)
}

// afterLoad is a collector's memory at a time after the last cell.
type afterLoad struct {
	at  time.Duration
	rss uint64
	// rssFile is the part of rss that maps files (bbolt maps its
	// databases), which the Go runtime does not manage.
	rssFile uint64
	mem     memStats
	err     error
}

// collectorInfo is what the report says of one collector beside its cells.
type collectorInfo struct {
	pipeline       pipeline
	idleRSS        uint64 // started, before any load
	peakRSS        uint64 // over the whole run
	memoryLimitMiB float64
	afterLoad      []afterLoad
	// stateAfterPrefill and stateAtEnd are the collector's own metrics
	// (telemetryNames) once the open jobs were sent and after the last cell.
	stateAfterPrefill, stateAtEnd map[string]float64
}

type results struct {
	started, finished time.Time
	machine           machine
	command           string
	rounds            int
	modes             []mode
	cells             map[cellKey]*agg
	collectors        map[string]*collectorInfo
	pipelines         []string // in the order of the report
	openMode          mode
	openJobsMode      mode
	timeShares        map[string]map[string]*cpuSamples // pipeline -> protocol -> merged CPU profiles of the last round
	profileErr        error
	sdk               map[string]*benchResult
	sdkRaw            string
	sdkErr            error
	mem               []memSample
	memErr            error
	opts              options
	baselineDesc      string
}

func (r *results) cell(pipeline, protocol, mode string) *agg {
	if a := r.cells[cellKey{pipeline, protocol, mode}]; a != nil {
		return a
	}
	return &agg{}
}

// eachCell calls f for every measured cell of a pipeline, mode by mode.
func (r *results) eachCell(pipeline string, f func(m mode, protocol string, a *agg)) {
	for _, m := range r.modes {
		for _, p := range protocols {
			if a := r.cells[cellKey{pipeline, p.name, m.name}]; a != nil {
				f(m, p.name, a)
			}
		}
	}
}

func (r *results) has(pipeline string) bool {
	_, ok := r.collectors[pipeline]
	return ok
}
