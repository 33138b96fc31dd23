package main

import (
	"context"
	"errors"
	"regexp"
)

// category is a part of the collector's work, recognised in a CPU profile
// by the functions its stacks pass through. A sample counts in every
// category one of its frames matches, so the shares overlap.
type category struct {
	name string
	re   *regexp.Regexp
}

var categories = []category{
	{"v1 receiver (decode, convert, deduplicate)", regexp.MustCompile(`/receiver/wafermonitorreceiver\.`)},
	{"OTLP receiver (decode)", regexp.MustCompile(`/receiver/otlpreceiver|/pdata/internal/.*[Uu]nmarshal`)},
	{"memory_limiter", regexp.MustCompile(`/memorylimiter`)},
	{"jobhierarchy processor", regexp.MustCompile(`/processor/jobhierarchyprocessor\.`)},
	{"… its state checkpoints", regexp.MustCompile(`/processor/jobhierarchyprocessor\.\(\*hierarchy\)\.checkpoint`)},
	{"batch processor", regexp.MustCompile(`/processor/batchprocessor\.`)},
	{"persistent sending queue", regexp.MustCompile(`exporterhelper/internal/queue\.\(\*persistentQueue`)},
	{"file_storage (bbolt)", regexp.MustCompile(`^go\.etcd\.io/bbolt\.`)},
	{"csv exporter", regexp.MustCompile(`/exporter/csvexporter\.`)},
	{"prometheus exporter", regexp.MustCompile(`/prometheusexporter\.`)},
	{"debug exporter", regexp.MustCompile(`/debugexporter\.`)},
	{"encoding/json", regexp.MustCompile(`^encoding/json\.`)},
	{"logging (zap)", regexp.MustCompile(`^go\.uber\.org/zap`)},
	{"file writes and syncs (system calls)", regexp.MustCompile(`^os\.\(\*File\)\.(Write|WriteAt|Sync)$|^syscall\.(Fsync|Fdatasync)$`)},
	{"network reads and writes (system calls)", regexp.MustCompile(`^net\.\(\*conn\)\.(Read|Write)$`)},
	{"memory allocation (mallocgc)", regexp.MustCompile(`^runtime\.mallocgc$`)},
	{"garbage collection (background marking, assists, sweeping)", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)$`)},
	{"scheduler (finding work, parking)", regexp.MustCompile(`^runtime\.(schedule|findRunnable|park_m)$`)},
}

// readTimeShares merges, per pipeline and protocol, the CPU profiles of
// the last round's cells.
func readTimeShares(ctx context.Context, r *results) (map[string]map[string]*cpuSamples, error) {
	out := map[string]map[string]*cpuSamples{}
	var errs []error
	for _, pipe := range r.pipelines {
		for _, p := range protocols {
			var paths []string
			for _, m := range r.modes {
				if a := r.cells[cellKey{pipe, p.name, m.name}]; a != nil && a.cpuProfile != "" {
					paths = append(paths, a.cpuProfile)
				}
			}
			if len(paths) == 0 {
				continue
			}
			s, err := readCPUProfiles(ctx, paths...)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if out[pipe] == nil {
				out[pipe] = map[string]*cpuSamples{}
			}
			out[pipe][p.name] = s
		}
	}
	return out, errors.Join(errs...)
}
