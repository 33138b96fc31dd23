package jobs

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
)

// IDGeneratorOption configures NewIDGenerator.
type IDGeneratorOption func(*idGenerator)

// WithXRayTraceIDs makes the trace IDs of spans other than jobs' start with
// the current Unix time, as AWS X-Ray wants. The default is random trace IDs.
func WithXRayTraceIDs() IDGeneratorOption {
	return func(g *idGenerator) { g.xray = true }
}

// NewIDGenerator returns the IDGenerator that a TracerProvider needs for the
// spans of jobs and subjobs to have the IDs of the shared mapping (package
// ids): the job's UUID as trace ID and a span ID derived from the entity's
// UUID. Every other span gets random IDs.
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(jobs.NewIDGenerator()), ...)
func NewIDGenerator(opts ...IDGeneratorOption) sdktrace.IDGenerator {
	g := &idGenerator{}
	for _, o := range opts {
		o(g)
	}
	return g
}

type idGenerator struct {
	xray bool
}

// entityIDsKey carries the IDs of the span being started from the Monitor to
// the IDGenerator. The Monitor sets it only on the context it passes to
// Tracer.Start, never on a context it hands back, so that spans the
// application starts under a job get IDs of their own.
type entityIDsKey struct{}

func (g *idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if e, ok := ctx.Value(entityIDsKey{}).(*ids.Entity); ok {
		return e.TraceID, e.SpanID
	}
	var tid trace.TraceID
	// Trace and span IDs are identifiers, not secrets: the OpenTelemetry SDK's
	// own generator uses a fast non-cryptographic source as well.
	binary.BigEndian.PutUint64(tid[0:8], rand.Uint64())  //nolint:gosec // see above
	binary.BigEndian.PutUint64(tid[8:16], rand.Uint64()) //nolint:gosec // see above
	if g.xray {
		binary.BigEndian.PutUint32(tid[0:4], uint32(time.Now().Unix())) //nolint:gosec // X-Ray's epoch field is 32 bits
	}
	return tid, randomSpanID()
}

func (g *idGenerator) NewSpanID(ctx context.Context, traceID trace.TraceID) trace.SpanID {
	if e, ok := ctx.Value(entityIDsKey{}).(*ids.Entity); ok && trace.TraceID(e.TraceID) == traceID {
		return e.SpanID
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	for sid == (trace.SpanID{}) {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64()) //nolint:gosec // an identifier, not a secret
	}
	return sid
}
