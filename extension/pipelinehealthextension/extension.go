package pipelinehealthextension // import "github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension"

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/internal/pipelinehealth"
)

type pipelineHealth struct {
	degradedFor time.Duration
	now         func() time.Time

	mu        sync.Mutex
	host      component.Host
	instances map[componentstatus.InstanceID]*instance
}

var (
	_ componentstatus.Watcher = (*pipelineHealth)(nil)
	_ pipelinehealth.Provider = (*pipelineHealth)(nil)
)

// Start remembers the host, whose storage extensions hold the queues.
func (e *pipelineHealth) Start(_ context.Context, host component.Host) error {
	e.mu.Lock()
	e.host = host
	e.mu.Unlock()
	return nil
}

func (e *pipelineHealth) Shutdown(context.Context) error { return nil }

// PipelineHealth returns the health of the pipelines the receiver feeds:
// its own and, through connectors, those they feed
// (pipelinehealth.Provider). Receivers are not part of it: another
// receiver of the same pipelines does not take the receiver's data.
func (e *pipelineHealth) PipelineHealth(receiver component.ID) pipelinehealth.Report {
	e.mu.Lock()
	fed := e.fedBy(receiver)
	r := pipelinehealth.Report{Pipelines: make([]pipeline.ID, 0, len(fed))}
	for p := range fed {
		r.Pipelines = append(r.Pipelines, p)
	}
	scope := map[pipelinehealth.Owner]bool{}
	for _, in := range e.sortedInstances() {
		if in.kind == component.KindReceiver || !in.in(fed) {
			continue
		}
		scope[owner(in)] = true
		if isError(in.status) {
			r.Failing = append(r.Failing, pipelinehealth.Failure{
				ID: in.id, Kind: in.kind, Pipelines: in.pipelines, Permanent: in.status != componentstatus.StatusRecoverableError,
				Error: errString(in.err), Since: in.since,
			})
		}
		if rec, ok := e.recovering(in); ok {
			r.Recovering = append(r.Recovering, rec)
		}
	}
	host := e.host
	e.mu.Unlock()
	slices.SortFunc(r.Pipelines, func(a, b pipeline.ID) int { return strings.Compare(a.String(), b.String()) })
	r.AddStorage(host, func(o pipelinehealth.Owner) bool {
		if o.Kind != component.KindExporter {
			o.Name = ""
		}
		return scope[o]
	}, e.degradedFor)
	return r
}

// recovering tells whether an exporter still writes the backlog of a
// failure, and forgets the backlog once it is written.
func (e *pipelineHealth) recovering(in *instance) (pipelinehealth.Recovering, bool) {
	if in.backlog == nil || in.status != componentstatus.StatusOK {
		return pipelinehealth.Recovering{}, false
	}
	q, ok := e.queueOf(in)
	left := in.backlog.target - q.Removed
	if !ok || q.Items == 0 || left <= 0 {
		in.backlog = nil
		return pipelinehealth.Recovering{}, false
	}
	return pipelinehealth.Recovering{
		ID: in.id, Pipelines: in.pipelines, Queued: q.Items, Backlog: min(left, q.Items), Since: in.backlog.since,
	}, true
}

// fedBy returns the pipelines of the receiver's instances, and of every
// connector that shares one of them, until none is added.
func (e *pipelineHealth) fedBy(receiver component.ID) map[pipeline.ID]bool {
	fed := map[pipeline.ID]bool{}
	for _, in := range e.instances {
		if in.kind == component.KindReceiver && in.id == receiver {
			for _, p := range in.pipelines {
				fed[p] = true
			}
		}
	}
	for added := true; added; {
		added = false
		for _, in := range e.instances {
			if in.kind != component.KindConnector || !in.in(fed) {
				continue
			}
			for _, p := range in.pipelines {
				if !fed[p] {
					fed[p], added = true, true
				}
			}
		}
	}
	return fed
}

// sortedInstances returns the instances by kind, ID and pipelines, so that
// the answer lists them in a stable order.
func (e *pipelineHealth) sortedInstances() []*instance {
	out := make([]*instance, 0, len(e.instances))
	for _, in := range e.instances {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *instance) int {
		if c := strings.Compare(a.kind.String(), b.kind.String()); c != 0 {
			return c
		}
		if c := strings.Compare(a.id.String(), b.id.String()); c != 0 {
			return c
		}
		return strings.Compare(pipelineList(a.pipelines), pipelineList(b.pipelines))
	})
	return out
}

func (in *instance) in(pipelines map[pipeline.ID]bool) bool {
	return slices.ContainsFunc(in.pipelines, func(p pipeline.ID) bool { return pipelines[p] })
}

// owner is how a storage file or queue of the instance's is named: an
// exporter's queue by its signal.
func owner(in *instance) pipelinehealth.Owner {
	o := pipelinehealth.Owner{Kind: in.kind, ID: in.id}
	if in.kind == component.KindExporter && len(in.pipelines) > 0 {
		o.Name = in.pipelines[0].Signal().String()
	}
	return o
}

func pipelineList(ps []pipeline.ID) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
