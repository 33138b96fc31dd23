package pipelinehealthextension // import "github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension"

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// instance is what is known of one component instance (a receiver,
// processor, exporter or connector in its pipelines) from its status
// events.
type instance struct {
	id        component.ID
	kind      component.Kind
	pipelines []pipeline.ID

	status componentstatus.Status
	err    error
	// since is when the current error started.
	since time.Time
	// backlog is set while an exporter that failed delivers again and its
	// queue still holds what was queued before.
	backlog *backlog
}

// backlog is what an exporter's queue held when it delivered again after
// failing: it is written once the queue's Removed count reaches target.
type backlog struct {
	target int64
	since  time.Time
}

func isError(s componentstatus.Status) bool {
	return s == componentstatus.StatusRecoverableError || s == componentstatus.StatusPermanentError ||
		s == componentstatus.StatusFatalError
}

// ComponentStatusChanged records a component's new status
// (componentstatus.Watcher). When an exporter that failed reports OK, what
// its queue holds then is the backlog it recovers from.
func (e *pipelineHealth) ComponentStatusChanged(source *componentstatus.InstanceID, ev *componentstatus.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, ok := e.instances[*source]
	if !ok {
		in = &instance{id: source.ComponentID(), kind: source.Kind()}
		source.AllPipelineIDs(func(p pipeline.ID) bool {
			in.pipelines = append(in.pipelines, p)
			return true
		})
		e.instances[*source] = in
	}
	switch s := ev.Status(); {
	case isError(s):
		if !isError(in.status) {
			in.since = ev.Timestamp()
		}
		in.err = ev.Err()
		in.backlog = nil
	case s == componentstatus.StatusOK && isError(in.status) && in.kind == component.KindExporter:
		if q, ok := e.queueOf(in); ok && q.Items > 0 {
			in.backlog = &backlog{target: q.Removed + q.Items, since: ev.Timestamp()}
		}
	}
	in.status = ev.Status()
}

// queueOf finds an exporter instance's persistent queue among the storage
// extensions': the exporter helper names it after the signal.
func (e *pipelineHealth) queueOf(in *instance) (spool.Queue, bool) {
	if len(in.pipelines) == 0 {
		return spool.Queue{}, false
	}
	name := in.pipelines[0].Signal().String()
	for _, s := range spool.Sources(e.host) {
		for _, q := range s.Queues() {
			if q.Kind == component.KindExporter && q.Owner == in.id && q.Name == name {
				return q, true
			}
		}
	}
	return spool.Queue{}, false
}
