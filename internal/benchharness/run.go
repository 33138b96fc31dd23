package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// harness is one run: its collectors, their requesters and the results.
type harness struct {
	o      options
	res    *results
	cols   []*collector
	client *http.Client
	reqs   map[cellKey]*requester
}

func run(o options) (*results, error) {
	start := time.Now()
	// Builds are not part of the measurement's budget.
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancelBuild()
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	workDir, err := os.MkdirTemp("", "wafermonitor-bench-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	if o.profileDir == "" {
		o.profileDir = filepath.Join(os.TempDir(), "wafermonitor-bench-profiles", start.UTC().Format("20060102-150405"))
	}
	for _, p := range []*string{&o.out, &o.svg, &o.profileDir, &o.config} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p)
		}
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return nil, err
	}
	res := &results{started: start.UTC(), cells: map[cellKey]*agg{}, collectors: map[string]*collectorInfo{}, opts: o,
		command:  strings.TrimSpace("make bench  # = go run ./internal/benchharness " + strings.Join(o.args, " ")),
		openMode: openMode(o.rate), openJobsMode: openJobsMode(o.rate, o.openJobs), machine: describeMachine()}
	res.modes = append(append([]mode(nil), closedModes...), res.openMode, res.openJobsMode)
	res.machine.commit = treeCommit(root)

	log.Printf("building the collector")
	bin, err := buildCollector(buildCtx, root, workDir)
	if err != nil {
		return nil, err
	}
	shipped, err := readShipped(o.config)
	if err != nil {
		return nil, err
	}
	pipes := []pipeline{defaultPipeline(shipped), plainPipeline, noStatePipeline(shipped)}
	bins := []string{bin, bin, bin}
	if o.baselineRev != "" || o.baseline != "" {
		p, baseBin, err := baselineSetup(buildCtx, root, workDir, &o)
		if err != nil {
			return nil, err
		}
		res.baselineDesc, res.opts = o.baselineDesc, o
		pipes, bins = append(pipes, p), append(bins, baseBin)
	}
	deadline := time.Now().Add(o.budget)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(time.Minute))
	defer cancel()

	if o.onlyLoad {
		o.memJobs, o.sdkCount = nil, 0
	}
	if o.sdkCount == 0 {
		res.sdkErr = errors.New("skipped (-quick, -only-ingestion or -sdk-count 0)")
	} else {
		log.Printf("SDK benchmarks (go test -bench in sdk/jobs)")
		res.sdk, res.sdkRaw, res.sdkErr = runSDKBenchmarks(ctx, root, o.sdkCount, o.sdkTime)
		if res.sdkErr != nil {
			log.Printf("SDK benchmarks failed: %v", res.sdkErr)
		}
	}
	for _, n := range o.memJobs {
		m, err := processorMemory(ctx, n)
		if err != nil {
			res.memErr = err
			break
		}
		log.Printf("processor memory, %d open jobs: %.0f B/job, %.0f B/job with roll-ups", n, m.perJob, m.perJobRolls)
		res.mem = append(res.mem, m)
	}

	h := &harness{o: o, res: res, reqs: map[cellKey]*requester{}, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true,
	}, Timeout: 30 * time.Second}}
	defer h.client.CloseIdleConnections()
	defer h.stopAll()
	for i, p := range pipes {
		log.Printf("starting the %s collector", p.name)
		c, err := startCollector(ctx, bins[i], workDir, p)
		if err != nil {
			return nil, err
		}
		h.cols = append(h.cols, c)
		res.pipelines = append(res.pipelines, p.name)
		res.collectors[p.name] = &collectorInfo{pipeline: p, memoryLimitMiB: c.memoryLimitMiB}
	}
	if err := h.prepare(ctx); err != nil {
		return nil, err
	}
	if err := h.rounds(ctx, deadline); err != nil {
		return nil, err
	}
	h.afterLoad(ctx)
	h.stopAll()
	log.Printf("reading the profiles in %s", o.profileDir)
	res.timeShares, res.profileErr = readTimeShares(ctx, res)
	res.finished = time.Now().UTC()
	res.machine.loadEnd = loadAvg()

	for _, f := range []struct{ path, text string }{{o.out, renderMarkdown(res)}, {o.svg, renderSVG(res)}} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil { //nolint:gosec // a document
			return nil, err
		}
	}
	log.Printf("wrote %s and %s in %s; profiles in %s", o.out, o.svg, time.Since(start).Round(time.Second), o.profileDir)
	return res, nil
}

// baselineSetup builds or takes the baseline binary and its configuration.
func baselineSetup(ctx context.Context, root, workDir string, o *options) (pipeline, string, error) {
	bin, config, desc := o.baseline, o.config, filepath.Base(o.baseline)
	if o.baselineRev != "" {
		log.Printf("building the baseline from %s", o.baselineRev)
		var err error
		if bin, config, desc, err = buildRevision(ctx, root, o.baselineRev, workDir); err != nil {
			return pipeline{}, "", err
		}
	}
	if o.baselineConfig != "" {
		config = o.baselineConfig
	}
	if o.baselineDesc == "" {
		o.baselineDesc = desc
	}
	s, err := readShipped(config)
	if err != nil {
		return pipeline{}, "", err
	}
	switch {
	case o.baselineConfig != "":
	case o.baselineRev != "":
		s.name = fmt.Sprintf("%s of %s", s.name, o.baselineRev)
	default:
		s.name = fmt.Sprintf("%s of this tree", s.name)
	}
	return baselinePipeline(s, o.baselineDesc), bin, nil
}

func (h *harness) stopAll() {
	for _, c := range h.cols {
		c.stop()
	}
}

// protocolsFor are the protocols a collector takes in a mode: the open-jobs
// cells and the baseline compare v1 with OTLP JSON only; OTLP JSON of the
// same output (logs and spans) is measured in the default pipeline's cells
// of the efficiency targets only, to keep the run short.
func protocolsFor(pl pipeline, m mode) []protocol {
	if (m.openJobs && !pl.openJobs) || (!m.openJobs && pl.onlyOpenJobs) {
		return nil
	}
	var out []protocol
	for _, p := range protocols {
		switch {
		case (m.openJobs || pl.name == pipeBaseline) && p.name != protoV1 && p.name != protoOTLPJSON:
		case p.spans && (pl.name != pipeDefault || (m.name != modeSingle16.name && m.name != modeBatch.name)):
		default:
			out = append(out, p)
		}
	}
	return out
}

// prepare measures the idle collectors, opens the jobs of the open-jobs
// cells, makes the requesters and warms every collector up.
func (h *harness) prepare(ctx context.Context) error {
	time.Sleep(3 * time.Second) // started, nothing received yet
	for _, c := range h.cols {
		h.res.collectors[c.pipeline.name].idleRSS, _ = c.status("VmRSS")
	}
	// One requester per cell, each with its own range of event numbers, so
	// that no entity or idempotency key repeats within a collector; the
	// open-jobs cells of a collector share one range, as they report the
	// subjobs of the same jobs.
	var rangeIndex uint64
	nextRange := func() uint64 { rangeIndex++; return (rangeIndex - 1) * 2_000_000_000 }
	for _, c := range h.cols {
		if c.pipeline.openJobs {
			log.Printf("opening %d jobs on %s", h.o.openJobs, c.pipeline.name)
			if err := prefill(ctx, h.client, c, prefillEvents(h.o.openJobs, nextRange())); err != nil {
				return err
			}
			// Let a checkpoint write them, as they would be on a site.
			time.Sleep(c.settle)
			state, err := c.telemetry(ctx)
			if err != nil {
				log.Printf("the %s collector's metrics: %v", c.pipeline.name, err)
			}
			h.res.collectors[c.pipeline.name].stateAfterPrefill = state
		}
		openJobsStart := nextRange()
		openJobsCounter := new(atomic.Uint64)
		openJobsCounter.Store(openJobsStart)
		for _, m := range h.res.modes {
			for _, p := range protocolsFor(c.pipeline, m) {
				key := cellKey{c.pipeline.name, p.name, m.name}
				if m.openJobs {
					h.reqs[key] = newRequester(h.client, c, p, m, openJobsCounter, openJobsMapping(h.o.openJobs, openJobsStart))
					continue
				}
				counter := new(atomic.Uint64)
				counter.Store(nextRange())
				h.reqs[key] = newRequester(h.client, c, p, m, counter, eventOf)
			}
		}
	}
	// Warm-up (not measured): connections, code paths, the heap's first
	// growth; open-jobs requesters are warmed up at 16 clients too.
	for _, c := range h.cols {
		for _, m := range []mode{modeSingle16, modeBatch, h.res.openJobsMode} {
			for _, p := range protocolsFor(c.pipeline, m) {
				warm := m
				warm.clients = max(m.clients, modeSingle16.clients)
				closedLoop(ctx, h.reqs[cellKey{c.pipeline.name, p.name, m.name}], warm, 500*time.Millisecond)
			}
		}
	}
	return nil
}

// rounds runs every cell once a round, mode by mode, collector by
// collector, with the order of the protocols rotated each round. The last
// round is profiled.
func (h *harness) rounds(ctx context.Context, deadline time.Time) error {
	var roundTime time.Duration
	tail := 15*time.Second + h.o.idleAfter[len(h.o.idleAfter)-1]
	for round := 0; round < h.o.rounds; round++ {
		if round > 0 && time.Until(deadline) < roundTime+tail {
			log.Printf("stopping after %d rounds to stay within -budget %s", round, h.o.budget)
			break
		}
		roundStart := time.Now()
		last := round == h.o.rounds-1 || (round > 0 && time.Until(deadline) < 2*roundTime+tail)
		for _, m := range h.res.modes {
			for _, c := range h.cols {
				ps := protocolsFor(c.pipeline, m)
				for i := range ps {
					p := ps[(i+round)%len(ps)]
					key := cellKey{c.pipeline.name, p.name, m.name}
					profileDir := ""
					if last {
						profileDir = h.o.profileDir
					}
					s, err := measureCell(ctx, c, key, h.reqs[key], m, h.o.cell, profileDir)
					if err != nil {
						return err
					}
					if h.res.cells[key] == nil {
						h.res.cells[key] = &agg{}
					}
					h.res.cells[key].add(s)
					log.Printf("round %d %-9s %-10s %-44s %8.0f events/s  p99 %7.2f ms  %6.1f CPU-s/M  %6.0f disk B/event  errors %d %s",
						round+1, key.pipeline, key.protocol, key.mode, float64(s.events)/s.elapsed.Seconds(),
						ms(pctOf(s.latencies, 0.99)), s.cpu.Seconds()/float64(max(s.events, 1))*1e6,
						float64(s.io.writeBytes)/float64(max(s.events, 1)), s.errors, s.firstErr)
				}
			}
		}
		h.res.rounds = round + 1
		roundTime = time.Since(roundStart)
		if last {
			break
		}
	}
	return nil
}

// afterLoad reads every collector's memory at the -idle-after times after
// the last cell, and the stateful collectors' own metrics.
func (h *harness) afterLoad(ctx context.Context) {
	for _, c := range h.cols {
		info := h.res.collectors[c.pipeline.name]
		info.peakRSS = max(c.peakRSS, c.notePeak())
		if state, err := c.telemetry(ctx); err == nil {
			info.stateAtEnd = state
		}
	}
	t0 := time.Now()
	for _, at := range h.o.idleAfter {
		time.Sleep(time.Until(t0.Add(at)))
		log.Printf("memory %s after the load", at)
		for _, c := range h.cols {
			a := afterLoad{at: at}
			a.rss, a.err = c.status("VmRSS")
			if a.err == nil {
				a.rssFile, a.err = c.status("RssFile")
			}
			if a.err == nil {
				a.mem, a.err = c.memStats(ctx)
			}
			info := h.res.collectors[c.pipeline.name]
			info.afterLoad = append(info.afterLoad, a)
		}
	}
}

func pctOf(lat []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), lat...)
	sortDurations(s)
	return percentile(s, p)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
