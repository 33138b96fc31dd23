package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promCounters are the receiver's own counters on its GET /metrics path, which
// the old sidecar served and which deployments scrape. The same counts also
// go to the collector's internal telemetry (metadata.yaml).
type promCounters struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	events     *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	duplicates prometheus.Counter
}

func newPromCounters() *promCounters {
	c := &promCounters{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wafermonitor_receiver_requests_total",
			Help: "HTTP requests served by the v1 API, by path and status code.",
		}, []string{"path", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wafermonitor_receiver_events_total",
			Help: "Events accepted into the pipeline, by kind.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wafermonitor_receiver_events_rejected_total",
			Help: "Events refused, by reason: invalid, too_large, pipeline.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wafermonitor_receiver_events_duplicate_total",
			Help: "Events answered as duplicates of an accepted idempotency key and not emitted again.",
		}),
	}
	c.registry.MustRegister(c.requests, c.events, c.rejected, c.duplicates)
	return c
}

func (c *promCounters) handler() http.Handler {
	return promhttp.HandlerFor(c.registry, promhttp.HandlerOpts{})
}
