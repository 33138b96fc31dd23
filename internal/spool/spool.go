// Package spool is how components learn what the persistent sending queues
// hold: the collector's counterpart of the old sidecar's spool directory.
// A storage extension that keeps sending queues (this distribution's
// file_storage) implements Source; the v1 receiver's health answer sums it
// into spool_count and spool_dir, and reports "recovering" while a queue
// whose exporter failed still holds items.
package spool // import "github.com/wafermonitor/wafermonitor/internal/spool"

import (
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
}

// Source is implemented by a storage extension that holds persistent queues.
type Source interface {
	// Directory is where the queues are kept.
	Directory() string
	// Queues returns every queue opened since the extension started.
	Queues() []Queue
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
