package jobs

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Indexes into the precomputed attribute sets: metric attributes are few and
// known in advance, so recording allocates nothing.
const (
	typeJob = iota
	typeSubjob
	numTypes
)

var (
	entityTypes = [numTypes]string{semconv.EntityTypeJob, semconv.EntityTypeSubjob}
	statuses    = []string{semconv.StatusSucceeded, semconv.StatusFailed, semconv.StatusCanceled}
	kinds       = []string{semconv.KindStarted, semconv.KindProgress, semconv.KindMetric, semconv.KindFinished, semconv.KindError, semconv.KindCanceled}
)

// Bucket boundaries: jobs run from seconds to a day, their memory from tens
// of MiB to tens of GiB.
var (
	secondsBuckets = []float64{0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400}
	mibBuckets     = []float64{16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}
)

type instruments struct {
	duration  metric.Float64Histogram
	cpuUser   metric.Float64Histogram
	cpuSystem metric.Float64Histogram
	memMax    metric.Float64Histogram
	completed metric.Int64Counter
	events    metric.Int64Counter
	dropped   metric.Int64Counter
	failed    metric.Int64Counter

	// The options are kept as slices of one so that passing them on
	// allocates nothing.
	addByStatus    [numTypes][][]metric.AddOption    // indexed like statuses
	recordByStatus [numTypes][][]metric.RecordOption // indexed like statuses
	addByKind      [numTypes][][]metric.AddOption    // indexed like kinds
}

func newInstruments(mp metric.MeterProvider, site, service string) *instruments {
	meter := mp.Meter(instrumentationName, metric.WithInstrumentationVersion(Version))
	in := &instruments{}
	var err error
	report := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	var e error
	in.duration, e = meter.Float64Histogram(semconv.MetricEntityDuration, metric.WithUnit("s"),
		metric.WithDescription("Wall time of finished jobs and subjobs."), metric.WithExplicitBucketBoundaries(secondsBuckets...))
	report(e)
	in.cpuUser, e = meter.Float64Histogram(semconv.MetricEntityCPUUser, metric.WithUnit("s"),
		metric.WithDescription("Process CPU user time spent while a job or subjob ran."), metric.WithExplicitBucketBoundaries(secondsBuckets...))
	report(e)
	in.cpuSystem, e = meter.Float64Histogram(semconv.MetricEntityCPUSystem, metric.WithUnit("s"),
		metric.WithDescription("Process CPU system time spent while a job or subjob ran."), metric.WithExplicitBucketBoundaries(secondsBuckets...))
	report(e)
	in.memMax, e = meter.Float64Histogram(semconv.MetricEntityMemoryMax, metric.WithUnit("MiB"),
		metric.WithDescription("Peak resident set size of the process while a job or subjob ran."), metric.WithExplicitBucketBoundaries(mibBuckets...))
	report(e)
	in.completed, e = meter.Int64Counter(semconv.MetricEntityCompleted, metric.WithUnit("{entity}"),
		metric.WithDescription("Jobs and subjobs that ended, by status."))
	report(e)
	in.events, e = meter.Int64Counter(semconv.MetricEvents, metric.WithUnit("{event}"),
		metric.WithDescription("Lifecycle events, by kind."))
	report(e)
	in.dropped, e = meter.Int64Counter(semconv.MetricSDKEventsDropped, metric.WithUnit("{event}"),
		metric.WithDescription("v1 events dropped because the send queue was full."))
	report(e)
	in.failed, e = meter.Int64Counter(semconv.MetricSDKEventsFailed, metric.WithUnit("{event}"),
		metric.WithDescription("v1 events that could not be delivered."))
	report(e)
	if err != nil {
		// The API returns a working no-op instrument along with the error.
		otel.Handle(err)
	}

	base := make([]attribute.KeyValue, 0, 4)
	if site != "" {
		base = append(base, attribute.String(semconv.AttrSiteID, site))
	}
	base = append(base, attribute.String(semconv.AttrServiceName, service))
	for t, typ := range entityTypes {
		withType := append(base[:len(base):len(base)], attribute.String(semconv.AttrEntityType, typ))
		for _, s := range statuses {
			opt := metric.WithAttributeSet(attribute.NewSet(append(withType[:len(withType):len(withType)], attribute.String(semconv.AttrStatus, s))...))
			in.addByStatus[t] = append(in.addByStatus[t], []metric.AddOption{opt})
			in.recordByStatus[t] = append(in.recordByStatus[t], []metric.RecordOption{opt})
		}
		for _, k := range kinds {
			opt := metric.WithAttributeSet(attribute.NewSet(append(withType[:len(withType):len(withType)], attribute.String(semconv.AttrEventKind, k))...))
			in.addByKind[t] = append(in.addByKind[t], []metric.AddOption{opt})
		}
	}
	return in
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (in *instruments) countEvent(ctx context.Context, typ, kind int) {
	in.events.Add(ctx, 1, in.addByKind[typ][kind]...)
}

// recordEnd records the measurements of an entity that ended, from its
// terminal event.
func (in *instruments) recordEnd(ctx context.Context, typ int, ev *event) {
	i := indexOf(statuses, ev.status)
	if i < 0 {
		return
	}
	opts := in.recordByStatus[typ][i]
	in.completed.Add(ctx, 1, in.addByStatus[typ][i]...)
	in.duration.Record(ctx, ev.durationS, opts...)
	if ev.hasCPU {
		in.cpuUser.Record(ctx, ev.cpuUser, opts...)
		in.cpuSystem.Record(ctx, ev.cpuSys, opts...)
	}
	if ev.hasMemory {
		in.memMax.Record(ctx, ev.memMaxMB, opts...)
	}
}
