// Package spool is how components learn what the persistent sending queues
// hold: the collector's counterpart of the old sidecar's spool directory.
// A storage extension that keeps sending queues (this distribution's
// file_storage) implements Source; the v1 receiver's health answer sums it
// into spool_count and spool_dir, and reports "recovering" while a queue
// whose exporter failed still holds items. A storage extension that moves
// damaged files aside also implements DamageReporter, so that the health
// answer can name what was set aside and where it is kept.
package spool // import "github.com/wafermonitor/wafermonitor/internal/spool"

import (
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Queue is one persistent sending queue.
type Queue struct {
	// Owner is the component that owns the queue, usually an exporter.
	Owner component.ID
	// Kind is the owner's kind.
	Kind component.Kind
	// Name tells the owner's queues apart; the exporter helper uses the signal ("logs", "traces", "metrics").
	Name string
	// Items is how many items (log records, spans, data points) the queue
	// holds that are not exported yet.
	Items int64
	// Removed is how many items left the queue since the storage extension
	// started: exported, or dropped by the exporter. Items queued at a
	// moment are all gone once Removed grew by their number (the queue is
	// read in order).
	Removed int64
}

// Source is implemented by a storage extension that holds persistent queues.
type Source interface {
	// Directory is where the queues are kept.
	Directory() string
	// Queues returns every queue opened since the extension started.
	Queues() []Queue
}

// DamagedFile is a storage file that could not be used when its component
// started: it was moved aside, kept, and the component started empty.
type DamagedFile struct {
	// Owner is the component whose state or queue the file held.
	Owner component.ID
	// Kind is the owner's kind.
	Kind component.Kind
	// Name tells the owner's files apart, as in Queue.
	Name string
	// Path is where the file was; MovedTo is where it is kept now.
	Path, MovedTo string
	// Problem says what was wrong with the file.
	Problem string
	// At is when it was moved aside.
	At time.Time
}

// DamageReporter is implemented by a storage extension that moves damaged
// files aside instead of failing its components' start.
type DamageReporter interface {
	// DamagedFiles returns the files moved aside since the extension
	// started, oldest first.
	DamagedFiles() []DamagedFile
}

// Sources returns the host's extensions that implement Source, in no
// particular order.
func Sources(host component.Host) []Source {
	if host == nil {
		return nil
	}
	var out []Source
	for _, ext := range host.GetExtensions() {
		if s, ok := ext.(Source); ok {
			out = append(out, s)
		}
	}
	return out
}

// DamagedFiles returns the files that the host's extensions moved aside
// since they started, oldest first.
func DamagedFiles(host component.Host) []DamagedFile {
	if host == nil {
		return nil
	}
	var out []DamagedFile
	for _, ext := range host.GetExtensions() {
		if r, ok := ext.(DamageReporter); ok {
			out = append(out, r.DamagedFiles()...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
