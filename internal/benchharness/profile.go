package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// pprofGet fetches a path of the collector's pprof extension.
func (c *collector) pprofGet(ctx context.Context, path string) ([]byte, error) {
	return httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/%s", c.pprofPort, path))
}

// httpGet is the body of a 200 answer to a GET of u.
func httpGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", u, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// saveProfile saves a pprof profile of the collector (e.g. "profile?seconds=2",
// "heap") to path.
func (c *collector) saveProfile(ctx context.Context, what, path string) error {
	body, err := c.pprofGet(ctx, what)
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644) //nolint:gosec // a profile for the developer to read
}

// memStats are fields of the collector's runtime.MemStats, as the heap
// profile's text form prints them.
type memStats struct {
	totalAlloc, mallocs, heapAlloc, heapInuse, heapIdle, heapReleased, sys, nextGC, numGC uint64
}

// retained is heap memory the runtime holds without using it: idle spans
// not yet returned to the operating system.
func (m memStats) retained() uint64 { return m.heapIdle - min(m.heapReleased, m.heapIdle) }

// memStatsDelta is what the allocator did during a cell.
type memStatsDelta struct {
	allocBytes, mallocs, gcs uint64
}

func (a memStats) sub(b memStats) memStatsDelta {
	return memStatsDelta{allocBytes: a.totalAlloc - b.totalAlloc, mallocs: a.mallocs - b.mallocs,
		gcs: a.numGC - b.numGC}
}

func (d *memStatsDelta) add(o memStatsDelta) {
	d.allocBytes += o.allocBytes
	d.mallocs += o.mallocs
	d.gcs += o.gcs
}

// memStats reads the collector's runtime.MemStats from /debug/pprof/heap?debug=1.
func (c *collector) memStats(ctx context.Context) (memStats, error) {
	body, err := c.pprofGet(ctx, "heap?debug=1")
	if err != nil {
		return memStats{}, err
	}
	return parseMemStats(body)
}

func parseMemStats(text []byte) (memStats, error) {
	var m memStats
	fields := map[string]*uint64{
		"TotalAlloc": &m.totalAlloc, "Mallocs": &m.mallocs, "HeapAlloc": &m.heapAlloc, "HeapInuse": &m.heapInuse,
		"HeapIdle": &m.heapIdle, "HeapReleased": &m.heapReleased, "Sys": &m.sys, "NextGC": &m.nextGC, "NumGC": &m.numGC,
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// "# HeapAlloc = 6131872"
		rest, ok := strings.CutPrefix(sc.Text(), "# ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, " = ")
		if p := fields[k]; ok && p != nil {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return memStats{}, fmt.Errorf("runtime.MemStats %s: %w", k, err)
			}
			*p = n
			found++
		}
	}
	if found != len(fields) {
		return memStats{}, fmt.Errorf("the heap profile's text form has %d of the %d runtime.MemStats fields the harness reads", found, len(fields))
	}
	return m, nil
}
