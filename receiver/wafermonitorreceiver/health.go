package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// degradedFor is how long after a refusal the health answer says
// "degraded", unless an event request was accepted since.
const degradedFor = 30 * time.Second

// health is what the health paths answer from: the latest refusal, the
// exporters that fail, and the persistent queues of the host's storage.
type health struct {
	now              func() time.Time
	failingExporters func() []exporterhealth.Failure

	mu   sync.Mutex
	host component.Host

	// lastRefusal is the Unix nanoseconds of the latest refusal (503 or
	// 400 from the pipeline), 0 once a request was accepted after it.
	lastRefusal atomic.Int64
	lastError   atomic.Value // string
}

func (h *health) setHost(host component.Host) {
	h.mu.Lock()
	h.host = host
	h.mu.Unlock()
}

// refused records a refusal and its cause.
func (h *health) refused(now time.Time, err error) {
	h.lastError.Store(err.Error())
	h.lastRefusal.Store(now.UnixNano())
}

// accepted records that events were accepted: refusals have stopped.
func (h *health) accepted(time.Time) {
	if last := h.lastRefusal.Load(); last != 0 {
		h.lastRefusal.CompareAndSwap(last, 0)
	}
}

// lastRefusalError is the error of a refusal that is recent and not yet
// followed by an accepted request.
func (h *health) lastRefusalError() (string, bool) {
	last := h.lastRefusal.Load()
	if last == 0 || h.now().Sub(time.Unix(0, last)) >= degradedFor {
		return "", false
	}
	msg, _ := h.lastError.Load().(string)
	return msg, true
}

// spool sums what the persistent sending queues of the host's storage
// extensions hold: the old sidecar's spool_count and spool_dir.
func (h *health) spool() (items int64, dir string) {
	h.mu.Lock()
	host := h.host
	h.mu.Unlock()
	sources := spool.Sources(host)
	if len(sources) == 0 {
		return 0, ""
	}
	slices.SortFunc(sources, func(a, b spool.Source) int { return strings.Compare(a.Directory(), b.Directory()) })
	for _, s := range sources {
		for _, q := range s.Queues() {
			items += q.Items
		}
	}
	return items, sources[0].Directory()
}

type healthBody struct {
	Status   string `json:"status"`
	Service  string `json:"service"`
	Version  string `json:"version"`
	Receiver string `json:"receiver"`
	// SpoolCount is how many items the persistent sending queues hold that
	// are not exported yet; SpoolDir where they are kept.
	SpoolCount       int64           `json:"spool_count"`
	SpoolDir         string          `json:"spool_dir"`
	LastError        string          `json:"last_error,omitempty"`
	FailingExporters []failingExport `json:"failing_exporters,omitempty"`
}

type failingExport struct {
	Exporter string    `json:"exporter"`
	Error    string    `json:"error"`
	Since    time.Time `json:"since"`
}

// handleHealth answers ok while the receiver takes data and every exporter
// delivers; degraded (still 200) after a refusal until a request is
// accepted again (or for degradedFor at most), and while an exporter's
// latest delivery failed; 503 when shutting down.
func (r *wafermonitorReceiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	body := healthBody{Status: "ok", Service: r.settings.BuildInfo.Command, Version: r.settings.BuildInfo.Version, Receiver: r.settings.ID.String()}
	body.SpoolCount, body.SpoolDir = r.health.spool()
	code := http.StatusOK
	if msg, ok := r.health.lastRefusalError(); ok {
		body.Status = "degraded"
		body.LastError = truncate(msg, 500)
	}
	for _, f := range r.health.failingExporters() {
		body.Status = "degraded"
		body.FailingExporters = append(body.FailingExporters, failingExport{Exporter: f.Exporter, Error: truncate(f.Error, 500), Since: f.Since.UTC()})
	}
	if r.stopping.Load() {
		body.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	r.count(req.Context(), normalizePath(req.URL.Path), code)
	writeJSON(w, code, body)
}
