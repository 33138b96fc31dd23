package sharedcomponent // import "github.com/wafermonitor/wafermonitor/internal/sharedcomponent"

import (
	"container/ring"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// replayed is how many of the latest status events a user that starts after
// the instance receives, as core's helper does.
const replayed = 5

var (
	_ component.Host           = (*hostWrapper)(nil)
	_ componentstatus.Reporter = (*hostWrapper)(nil)
)

// hostWrapper is the host a shared instance starts with. The collector gives
// each user its own host, which reports status for that user's pipelines
// only (its InstanceID); this one passes every report on to all the users'
// hosts, so a shared receiver that fails, or a shared exporter core that
// degrades, shows in every pipeline it serves, once.
type hostWrapper struct {
	mu       sync.Mutex
	host     component.Host
	sources  []componentstatus.Reporter
	previous *ring.Ring
}

func newHostWrapper() *hostWrapper {
	return &hostWrapper{previous: ring.New(replayed)}
}

// use sets the host whose extensions the instance sees.
func (h *hostWrapper) use(host component.Host) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.host = host
}

func (h *hostWrapper) GetExtensions() map[component.ID]component.Component {
	h.mu.Lock()
	host := h.host
	h.mu.Unlock()
	if host == nil {
		return nil
	}
	return host.GetExtensions()
}

// Report passes the event on to every user's host. Events are remembered
// only once someone received them.
func (h *hostWrapper) Report(e *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sources) > 0 {
		h.previous.Value = e
		h.previous = h.previous.Next()
	}
	for _, s := range h.sources {
		s.Report(e)
	}
}

// addSource adds a user's host, which first receives the latest events.
func (h *hostWrapper) addSource(host component.Host) {
	s, ok := host.(componentstatus.Reporter)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.previous.Do(func(v any) {
		if e, ok := v.(*componentstatus.Event); ok {
			s.Report(e)
		}
	})
	h.sources = append(h.sources, s)
}
