package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// counters are the receiver's own counts, kept once and read by both of
// their outputs: the collector's telemetry (otelcol_receiver_wafermonitor_*,
// observable instruments of metadata.yaml whose callbacks read these values)
// and the legacy GET /metrics of the v1 port (prometheus.go). The collector
// gives a component only a MeterProvider to write to, never a reader of
// what it wrote, so the values live here rather than in its instruments.
//
// Every label value comes from a fixed set (paths of the API, status codes
// the receiver answers, event kinds of the contract, refusal reasons): an
// unknown kind counts as "other", never as the client's string.
type counters struct {
	requests   *labeledCounter // path, code
	events     *labeledCounter // kind
	rejected   *labeledCounter // reason
	waits      *labeledCounter // for
	duplicates atomic.Int64
}

func newCounters() *counters {
	return &counters{
		requests: newLabeledCounter("path", "code"),
		events:   newLabeledCounter("kind"),
		rejected: newLabeledCounter("reason"),
		waits:    newLabeledCounter("for"),
	}
}

// otherLabel stands for any value outside a label's fixed set.
const otherLabel = "other"

// Reasons of a refused event.
const (
	reasonInvalid  = "invalid"
	reasonTooLarge = "too_large"
	reasonTimeout  = "timeout"
	reasonPipeline = "pipeline"
	reasonBusy     = "busy"
	// reasonClientGone: the client closed the connection while its request waited.
	reasonClientGone = "client_gone"
)

var knownKinds = [...]string{
	semconv.KindStarted, semconv.KindProgress, semconv.KindMetric,
	semconv.KindFinished, semconv.KindError, semconv.KindCanceled,
}

// kindLabel is the label of an event kind: one of the contract's, or other.
func kindLabel(kind string) string {
	if slices.Contains(knownKinds[:], kind) {
		return kind
	}
	return otherLabel
}

func (c *counters) countRequest(path string, code int) {
	label := "200" // the code of nearly every request, without formatting it
	if code != http.StatusOK {
		label = strconv.Itoa(code)
	}
	c.requests.add(1, path, label)
}

func (c *counters) countEvent(kind string) { c.countEvents(kind, 1) }

func (c *counters) countEvents(kind string, n int) { c.events.add(int64(n), kindLabel(kind)) }

func (c *counters) countRejected(reason string, n int) { c.rejected.add(int64(n), reason) }

func (c *counters) countDuplicates(n int) { c.duplicates.Add(int64(n)) }

func (c *counters) countWait(what string) { c.waits.add(1, what) }

// register makes the collector's telemetry observe the counters.
func (c *counters) register(tb *metadata.TelemetryBuilder) error {
	observe := func(lc *labeledCounter) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			lc.each(func(v int64, attrs attribute.Set, _ []string) { o.Observe(v, metric.WithAttributeSet(attrs)) })
			return nil
		}
	}
	return errors.Join(
		tb.RegisterReceiverWafermonitorRequestsCallback(observe(c.requests)),
		tb.RegisterReceiverWafermonitorEventsCallback(observe(c.events)),
		tb.RegisterReceiverWafermonitorEventsRejectedCallback(observe(c.rejected)),
		tb.RegisterReceiverWafermonitorAdmissionWaitsCallback(observe(c.waits)),
		tb.RegisterReceiverWafermonitorEventsDuplicateCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(c.duplicates.Load())
			return nil
		}),
	)
}

// labeledCounter is a counter per combination of label values.
type labeledCounter struct {
	names []string // label names, in the order values are given

	mu     sync.RWMutex
	series map[string]*labeledValue // by the values joined with NUL
}

type labeledValue struct {
	n      atomic.Int64
	values []string
	attrs  attribute.Set
}

func newLabeledCounter(names ...string) *labeledCounter {
	return &labeledCounter{names: names, series: map[string]*labeledValue{}}
}

func (lc *labeledCounter) add(n int64, values ...string) {
	// The key is made on the stack; it is copied only for a new series.
	var buf [64]byte
	key := appendLabels(buf[:0], values)
	lc.mu.RLock()
	s, ok := lc.series[string(key)]
	lc.mu.RUnlock()
	if !ok {
		lc.mu.Lock()
		if s, ok = lc.series[string(key)]; !ok {
			kvs := make([]attribute.KeyValue, len(values))
			for i, v := range values {
				kvs[i] = attribute.String(lc.names[i], v)
			}
			s = &labeledValue{values: slices.Clone(values), attrs: attribute.NewSet(kvs...)}
			lc.series[string(key)] = s
		}
		lc.mu.Unlock()
	}
	s.n.Add(n)
}

// each calls fn with every series' value.
func (lc *labeledCounter) each(fn func(v int64, attrs attribute.Set, values []string)) {
	lc.mu.RLock()
	defer lc.mu.RUnlock()
	for _, s := range lc.series {
		fn(s.n.Load(), s.attrs, s.values)
	}
}

// appendLabels appends the values joined with NUL to b: a series' key.
func appendLabels(b []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, v...)
	}
	return b
}
