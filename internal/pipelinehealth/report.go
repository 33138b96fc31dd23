// Package pipelinehealth is the health of the pipelines a receiver feeds, as
// the v1 receiver's health answer tells it: the components of those
// pipelines whose status is an error, the exporters that deliver again but
// still have to write what was queued while they failed, what the
// persistent sending queues hold, and the storage files found damaged and
// moved aside at start.
//
// The pipeline_health extension watches the collector's component statuses
// and provides a Report per receiver (Provider). Without it, Unscoped tells
// what the storage extensions know, for the whole process, and nothing of
// the components' statuses.
package pipelinehealth // import "github.com/wafermonitor/wafermonitor/internal/pipelinehealth"

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// Status is the health answer's status.
type Status string

const (
	// StatusOK: every component of the pipelines delivers and nothing is
	// waiting from a failure.
	StatusOK Status = "ok"
	// StatusRecovering: an exporter delivers again but its queue still holds
	// what was queued while it failed.
	StatusRecovering Status = "recovering"
	// StatusDegraded: a component fails, or a storage file was found damaged
	// and not yet acknowledged.
	StatusDegraded Status = "degraded"
)

// DefaultDamagedDegradedFor is how long a damaged file keeps the health
// answer degraded when its kept copy is not removed.
const DefaultDamagedDegradedFor = 24 * time.Hour

// Failure is a component whose latest status is an error.
type Failure struct {
	ID        component.ID
	Kind      component.Kind
	Pipelines []pipeline.ID
	// Permanent is true for a permanent or fatal error: it needs someone to
	// act; a recoverable error may clear by itself.
	Permanent bool
	Error     string
	// Since is when the component started failing.
	Since time.Time
}

// Recovering is an exporter that delivers again after failing while its
// persistent queue still holds items queued before it did.
type Recovering struct {
	ID        component.ID
	Pipelines []pipeline.ID
	// Queued is how many items its queue holds; Backlog how many of them
	// were queued before it delivered again (at most).
	Queued, Backlog int64
	// Since is when it delivered again.
	Since time.Time
}

// DamagedFile is a storage file moved aside at start whose kept copy is
// still where it was moved to. Removing or renaming that copy acknowledges it.
type DamagedFile struct {
	spool.DamagedFile
	// DegradedUntil is when the file stops making the answer degraded.
	DegradedUntil time.Time
}

// Report is the health of a receiver's pipelines.
type Report struct {
	// Pipelines are the pipelines watched: the receiver's, and those its
	// connectors feed. Nil when they are unknown (Unscoped).
	Pipelines  []pipeline.ID
	Failing    []Failure
	Recovering []Recovering
	Damaged    []DamagedFile
	// SpoolCount is how many items the persistent sending queues of the
	// pipelines' exporters hold; SpoolDir where they are kept.
	SpoolCount int64
	SpoolDir   string
}

// Status is the report's status at now.
func (r Report) Status(now time.Time) Status {
	if len(r.Failing) > 0 {
		return StatusDegraded
	}
	for _, d := range r.Damaged {
		if now.Before(d.DegradedUntil) {
			return StatusDegraded
		}
	}
	if len(r.Recovering) > 0 {
		return StatusRecovering
	}
	return StatusOK
}

// Provider is implemented by the pipeline_health extension.
type Provider interface {
	// PipelineHealth returns the health of the pipelines the receiver feeds.
	PipelineHealth(receiver component.ID) Report
}

// FindProvider returns the host's extension that provides pipeline health
// (the first by ID when there are several), or nil.
func FindProvider(host component.Host) Provider {
	if host == nil {
		return nil
	}
	exts := host.GetExtensions()
	ids := make([]component.ID, 0, len(exts))
	for id := range exts {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b component.ID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		if p, ok := exts[id].(Provider); ok {
			return p
		}
	}
	return nil
}

// Owner names a storage file's or queue's component: Name is the exporter
// helper's signal for a queue, empty for other components.
type Owner struct {
	Kind component.Kind
	ID   component.ID
	Name string
}

// Unscoped is what the host's storage extensions know, for every component
// of the process: the queues and the damaged files.
func Unscoped(host component.Host) Report {
	var r Report
	r.AddStorage(host, nil, DefaultDamagedDegradedFor)
	return r
}

// AddStorage adds to the report the persistent queues and damaged files of
// the host's storage extensions whose owner include accepts (all when
// include is nil). A damaged file whose kept copy is gone was acknowledged
// and is left out.
func (r *Report) AddStorage(host component.Host, include func(Owner) bool, degradedFor time.Duration) {
	sources := spool.Sources(host)
	sort.Slice(sources, func(i, j int) bool { return sources[i].Directory() < sources[j].Directory() })
	for _, s := range sources {
		for _, q := range s.Queues() {
			if include != nil && !include(Owner{Kind: q.Kind, ID: q.Owner, Name: q.Name}) {
				continue
			}
			r.SpoolCount += q.Items
			if r.SpoolDir == "" {
				r.SpoolDir = s.Directory()
			}
		}
	}
	if r.SpoolDir == "" && len(sources) > 0 {
		r.SpoolDir = sources[0].Directory()
	}
	for _, d := range spool.DamagedFiles(host) {
		if include != nil && !include(Owner{Kind: d.Kind, ID: d.Owner, Name: d.Name}) {
			continue
		}
		if !keptCopyExists(d.MovedTo) {
			continue
		}
		r.Damaged = append(r.Damaged, DamagedFile{DamagedFile: d, DegradedUntil: d.At.Add(degradedFor)})
	}
}

// keptCopyExists reports whether a damaged file's kept copy is still at
// path; one that cannot be looked at counts as there.
func keptCopyExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
