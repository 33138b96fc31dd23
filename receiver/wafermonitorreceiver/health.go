package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/wafermonitor/wafermonitor/internal/pipelinehealth"
)

// degradedFor is how long after a refusal the health answer says
// "degraded", unless an event request was accepted since.
const degradedFor = 30 * time.Second

// noPipelineHealth is what the answer says when no extension tells the
// health of the receiver's pipelines.
const noPipelineHealth = "the pipeline_health extension is not in service::extensions: " +
	"this answer tells only the receiver's own refusals, the queues and the damaged files, not exporter failures"

// health is what the health paths answer from: the receiver's latest
// refusal, and the health of the pipelines it feeds.
type health struct {
	now func() time.Time
	id  component.ID

	mu       sync.Mutex
	host     component.Host
	provider pipelinehealth.Provider

	// lastRefusal is the Unix nanoseconds of the latest refusal (503 or
	// 400 from the pipeline), 0 once a request was accepted after it.
	lastRefusal atomic.Int64
	lastError   atomic.Value // string
}

// setHost finds the extension that tells the pipelines' health among the
// host's.
func (h *health) setHost(host component.Host) {
	provider := pipelinehealth.FindProvider(host)
	h.mu.Lock()
	h.host, h.provider = host, provider
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

// pipelines is the health of the pipelines the receiver feeds, from the
// pipeline_health extension; without it, what the storage extensions know
// (false).
func (h *health) pipelines() (pipelinehealth.Report, bool) {
	h.mu.Lock()
	host, provider := h.host, h.provider
	h.mu.Unlock()
	if provider != nil {
		return provider.PipelineHealth(h.id), true
	}
	return pipelinehealth.Unscoped(host), false
}

type healthBody struct {
	Status   string `json:"status"`
	Service  string `json:"service"`
	Version  string `json:"version"`
	Receiver string `json:"receiver"`
	// SpoolCount is how many items the persistent sending queues hold that
	// are not exported yet; SpoolDir where they are kept.
	SpoolCount int64  `json:"spool_count"`
	SpoolDir   string `json:"spool_dir"`
	LastError  string `json:"last_error,omitempty"`
	// Pipelines are those the answer watches; PipelinesUnknown says why
	// there are none.
	Pipelines           []string           `json:"pipelines,omitempty"`
	PipelinesUnknown    string             `json:"pipelines_unknown,omitempty"`
	FailingExporters    []failingExporter  `json:"failing_exporters,omitempty"`
	FailingComponents   []failingComponent `json:"failing_components,omitempty"`
	RecoveringExporters []recovering       `json:"recovering_exporters,omitempty"`
	DamagedFiles        []damagedFile      `json:"damaged_files,omitempty"`
}

type failingExporter struct {
	Exporter  string    `json:"exporter"`
	Error     string    `json:"error"`
	Permanent bool      `json:"permanent,omitempty"`
	Since     time.Time `json:"since"`
}

type failingComponent struct {
	Component string    `json:"component"`
	Kind      string    `json:"kind"`
	Error     string    `json:"error"`
	Permanent bool      `json:"permanent,omitempty"`
	Since     time.Time `json:"since"`
}

type recovering struct {
	Exporter string    `json:"exporter"`
	Queued   int64     `json:"queued"`
	Backlog  int64     `json:"backlog"`
	Since    time.Time `json:"since"`
}

type damagedFile struct {
	Component     string    `json:"component"`
	Kind          string    `json:"kind"`
	File          string    `json:"file"`
	MovedTo       string    `json:"moved_to"`
	Problem       string    `json:"problem"`
	At            time.Time `json:"at"`
	DegradedUntil time.Time `json:"degraded_until"`
}

// handleHealth answers ok while the receiver takes data and its pipelines
// deliver; recovering while an exporter that failed still writes its
// backlog; degraded (still 200) after a refusal until a request is
// accepted again (or for degradedFor at most), while a component of the
// pipelines fails, and while a damaged file is not acknowledged; 503 when
// shutting down.
func (r *wafermonitorReceiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	now := r.now()
	report, known := r.health.pipelines()
	body := healthBody{
		Status: string(report.Status(now)), Service: r.settings.BuildInfo.Command, Version: r.settings.BuildInfo.Version,
		Receiver: r.settings.ID.String(), SpoolCount: report.SpoolCount, SpoolDir: report.SpoolDir,
	}
	if known {
		body.Pipelines = pipelineNames(report.Pipelines)
	} else {
		body.PipelinesUnknown = noPipelineHealth
	}
	if msg, ok := r.health.lastRefusalError(); ok {
		body.Status = string(pipelinehealth.StatusDegraded)
		body.LastError = truncate(msg, 500)
	}
	addPipelineHealth(&body, report)
	code := http.StatusOK
	if r.stopping.Load() {
		body.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	r.count(req.Context(), normalizePath(req.URL.Path), code)
	writeJSON(w, code, body)
}

// addPipelineHealth lists the report's failures, recoveries and damaged
// files in the answer.
func addPipelineHealth(body *healthBody, report pipelinehealth.Report) {
	for _, f := range report.Failing {
		msg := truncate(f.Error, 500)
		if f.Kind == component.KindExporter {
			body.FailingExporters = append(body.FailingExporters, failingExporter{
				Exporter: instanceName(f.ID, f.Pipelines), Error: msg, Permanent: f.Permanent, Since: f.Since.UTC()})
			continue
		}
		body.FailingComponents = append(body.FailingComponents, failingComponent{
			Component: instanceName(f.ID, f.Pipelines), Kind: strings.ToLower(f.Kind.String()), Error: msg,
			Permanent: f.Permanent, Since: f.Since.UTC()})
	}
	for _, rec := range report.Recovering {
		body.RecoveringExporters = append(body.RecoveringExporters, recovering{
			Exporter: instanceName(rec.ID, rec.Pipelines), Queued: rec.Queued, Backlog: rec.Backlog, Since: rec.Since.UTC()})
	}
	for _, d := range report.Damaged {
		body.DamagedFiles = append(body.DamagedFiles, damagedFile{
			Component: d.Owner.String(), Kind: strings.ToLower(d.Kind.String()), File: d.Path, MovedTo: d.MovedTo,
			Problem: truncate(d.Problem, 500), At: d.At.UTC(), DegradedUntil: d.DegradedUntil.UTC()})
	}
}

// instanceName names a component instance as "csv (logs, logs/2)".
func instanceName(id component.ID, pipelines []pipeline.ID) string {
	return id.String() + " (" + strings.Join(pipelineNames(pipelines), ", ") + ")"
}

func pipelineNames(ps []pipeline.ID) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
