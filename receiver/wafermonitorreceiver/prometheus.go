package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
)

// legacyMetrics serves the receiver's counters on its GET /metrics path, in
// the Prometheus text format and with the names the old sidecar served and
// deployments scrape. It reads the same counters as the collector's
// telemetry (counters.go); the registry only formats them.
type legacyMetrics struct {
	c          *counters
	requests   *prometheus.Desc
	events     *prometheus.Desc
	rejected   *prometheus.Desc
	waits      *prometheus.Desc
	duplicates *prometheus.Desc
}

func newLegacyMetricsHandler(c *counters) http.Handler {
	m := &legacyMetrics{
		c: c,
		requests: prometheus.NewDesc("wafermonitor_receiver_requests_total",
			"HTTP requests served by the v1 API, by path and status code.", c.requests.names, nil),
		events: prometheus.NewDesc("wafermonitor_receiver_events_total",
			"Events accepted into the pipeline, by kind (other for a kind the v1 contract does not name).", c.events.names, nil),
		rejected: prometheus.NewDesc("wafermonitor_receiver_events_rejected_total",
			"Events refused, by reason: invalid, too_large, timeout, busy, client_gone, pipeline.", c.rejected.names, nil),
		waits: prometheus.NewDesc("wafermonitor_receiver_admission_waits_total",
			"Event requests that waited before they were served or answered 503, by what they waited for: bytes, decoder, same_key.", c.waits.names, nil),
		duplicates: prometheus.NewDesc("wafermonitor_receiver_events_duplicate_total",
			"Events answered as duplicates of an accepted idempotency key and not emitted again.", nil, nil),
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(m)
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
}

// Describe implements prometheus.Collector.
func (m *legacyMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.requests
	ch <- m.events
	ch <- m.rejected
	ch <- m.waits
	ch <- m.duplicates
}

// Collect implements prometheus.Collector.
func (m *legacyMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, s := range []struct {
		desc *prometheus.Desc
		lc   *labeledCounter
	}{{m.requests, m.c.requests}, {m.events, m.c.events}, {m.rejected, m.c.rejected}, {m.waits, m.c.waits}} {
		s.lc.each(func(v int64, _ attribute.Set, values []string) {
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(v), values...)
		})
	}
	ch <- prometheus.MustNewConstMetric(m.duplicates, prometheus.CounterValue, float64(m.c.duplicates.Load()))
}
