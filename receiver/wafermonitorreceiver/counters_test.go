package wafermonitorreceiver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadatatest"
)

// TestOneMetricsPath: every count is kept once and read by both outputs,
// the collector's telemetry and the legacy GET /metrics, which agree.
func TestOneMetricsPath(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	ts := startServer(t, serverOptions{telemetry: tel})
	started := readSample(t, "python-started.json")
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", started).code)
	require.Equal(t, http.StatusOK, ts.post(t, "/v1/event", started).code)
	require.Equal(t, http.StatusUnprocessableEntity, ts.post(t, "/v1/event", []byte(`{`)).code)
	require.Equal(t, http.StatusNotFound, ts.post(t, "/v1/no/such/path/"+strings.Repeat("x", 100), nil).code)
	// A kind outside the contract counts as other, never as the client's string.
	ts.recv.counters.countEvent("heartbeat-from-a-client")

	text := ts.metricsText(t)
	for _, want := range []string{
		`wafermonitor_receiver_requests_total{code="200",path="/v1/event"} 2`,
		`wafermonitor_receiver_requests_total{code="422",path="/v1/event"} 1`,
		`wafermonitor_receiver_requests_total{code="404",path="other"} 1`,
		`wafermonitor_receiver_events_total{kind="started"} 1`,
		`wafermonitor_receiver_events_total{kind="other"} 1`,
		`wafermonitor_receiver_events_duplicate_total 1`,
		`wafermonitor_receiver_events_rejected_total{reason="invalid"} 1`,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "heartbeat")
	assert.NotContains(t, text, "/v1/no/such")

	metadatatest.AssertEqualReceiverWafermonitorEvents(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("kind", "started")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("kind", "other")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverWafermonitorEventsDuplicate(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverWafermonitorEventsRejected(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", "invalid")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	requests := func(path, code string, n int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("path", path), attribute.String("code", code)), Value: n}
	}
	metadatatest.AssertEqualReceiverWafermonitorRequests(t, tel, []metricdata.DataPoint[int64]{
		requests("/v1/event", "200", 2), requests("/v1/event", "422", 1), requests("other", "404", 1),
	}, metricdatatest.IgnoreTimestamp())
}

func TestKindLabel(t *testing.T) {
	for kind, want := range map[string]string{
		"started": "started", "progress": "progress", "metric": "metric", "finished": "finished",
		"error": "error", "canceled": "canceled", "heartbeat": otherLabel, "": otherLabel, "STARTED": otherLabel,
	} {
		assert.Equal(t, want, kindLabel(kind), kind)
	}
}

// metricsText is the legacy GET /metrics answer.
func (ts *testServer) metricsText(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(raw)
}

// A request's events are counted by kind, an unknown kind as other.
func TestCountAcceptedByKind(t *testing.T) {
	r := &wafermonitorReceiver{counters: newCounters()}
	var events []event
	for _, k := range []string{"finished", "started", "other", "finished", "error", "finished"} {
		events = append(events, event{Kind: k})
	}
	r.countAccepted(events)
	r.countAccepted(events[:2])
	got := map[string]int64{}
	r.counters.events.each(func(v int64, _ attribute.Set, values []string) { got[values[0]] = v })
	assert.Equal(t, map[string]int64{"finished": 4, "started": 2, "other": 1, "error": 1}, got)
}
