package jobs

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// event is one lifecycle event of an entity, built in the goroutine that
// reports it and then written, by the event queue, as a log record, metric
// recordings and, with a sidecar, a v1 event.
type event struct {
	job     *Job
	kind    int // index into kinds
	status  string
	at      time.Time
	key     UUID         // the idempotency key, shared by the log record and the v1 event
	metrics []namedValue // RecordMetric values
	attrs   []attribute.KeyValue

	hasProgress     bool
	done, total     float64
	hasDoneTotal    bool
	fraction        float64
	progressMessage string

	errType, errMessage string

	// The measurements of a terminal event.
	terminal          bool
	durationS         float64
	cpuUser, cpuSys   float64
	memMaxMB          float64
	hasCPU, hasMemory bool
}

type namedValue struct {
	name  string
	value float64
}

// Indexes into kinds.
const (
	kindStarted = iota
	kindProgress
	kindMetric
	kindFinished
	kindError
	kindCanceled
)

// eventNames are the log records' event names by entity type and kind.
var eventNames = func() (names [numTypes][]string) {
	for t, typ := range entityTypes {
		for _, k := range kinds {
			names[t] = append(names[t], semconv.EventName(typ, k))
		}
	}
	return names
}()

// appendMeasurements appends the terminal event's measurements and the
// named metrics, as the v1 metrics object has them.
func (ev *event) appendMetrics(out []namedValue) []namedValue {
	if ev.terminal {
		out = append(out, namedValue{semconv.MetricKeyDurationS, ev.durationS})
		if ev.hasCPU {
			out = append(out, namedValue{semconv.MetricKeyCPUUserS, ev.cpuUser}, namedValue{semconv.MetricKeyCPUSystemS, ev.cpuSys})
		}
		if ev.hasMemory {
			out = append(out, namedValue{semconv.MetricKeyMemMaxMB, ev.memMaxMB})
		}
	}
	return append(out, ev.metrics...)
}

func severityOf(kind int, status string) (log.Severity, string) {
	switch {
	case kind == kindError || status == semconv.StatusFailed:
		return log.SeverityError, "ERROR"
	case kind == kindCanceled:
		return log.SeverityWarn, "WARN"
	}
	return log.SeverityInfo, "INFO"
}

// write writes ev as a log record, metric recordings and a v1 event, and
// ends the entity's span on a terminal event.
func (m *Monitor) write(ev *event) {
	defer m.recoverTelemetry()
	j := ev.job
	if ev.terminal {
		m.endSpan(j, ev)
	}
	ctx := context.Background()
	ev.key = newUUID(false, ev.at)
	m.inst.countEvent(ctx, j.typ, ev.kind)
	if m.logsEnabled(ev) {
		m.logger.Emit(trace.ContextWithSpan(ctx, j.span), j.logRecord(ev))
	}
	if m.sidecar != nil {
		m.sidecar.enqueue(j.v1Event(ev))
	}
	if ev.terminal {
		m.inst.recordEnd(ctx, j.typ, ev)
	}
}

// endSpan ends j's span (see Job.endSpan); a span processor that panics
// costs the span, not the event's log record and metrics.
func (m *Monitor) endSpan(j *Job, ev *event) {
	defer m.recoverTelemetry()
	j.endSpan(ev)
}

func (m *Monitor) logsEnabled(ev *event) bool {
	sev, _ := severityOf(ev.kind, ev.status)
	return m.logger.Enabled(context.Background(), log.EnabledParameters{Severity: sev, EventName: kinds[ev.kind]})
}

func (j *Job) logRecord(ev *event) log.Record {
	var r log.Record
	r.SetEventName(eventNames[j.typ][ev.kind])
	r.SetTimestamp(ev.at)
	r.SetObservedTimestamp(ev.at)
	sev, text := severityOf(ev.kind, ev.status)
	r.SetSeverity(sev)
	r.SetSeverityText(text)
	// The body and the idempotency key share one allocation.
	buf := make([]byte, 0, 128)
	buf = j.describe(buf, ev)
	bodyLen := len(buf)
	buf = appendUUID(buf, ev.key)
	texts := string(buf)
	r.SetBody(log.StringValue(texts[:bodyLen]))

	var kvsBuf [24]log.KeyValue
	kvs := append(kvsBuf[:0],
		log.String(semconv.AttrEntityType, j.entityType()),
		log.String(semconv.AttrEntityID, j.idString),
	)
	kvs = appendEntityAttrs(kvs, j, logKVs)
	kvs = append(kvs,
		log.String(semconv.AttrStatus, ev.status),
		log.String(semconv.AttrEventKind, kinds[ev.kind]),
		log.String(semconv.AttrIdempotencyKey, texts[bodyLen:]),
	)
	if o := semconv.OutcomeOf(ev.status); o != "" {
		kvs = append(kvs, log.String(semconv.AttrOutcome, o))
	}
	if ev.hasProgress {
		if ev.hasDoneTotal {
			kvs = append(kvs, log.Float64(semconv.AttrProgressDone, ev.done), log.Float64(semconv.AttrProgressTotal, ev.total))
		}
		kvs = append(kvs, log.Float64(semconv.AttrProgressFraction, ev.fraction))
		if ev.progressMessage != "" {
			kvs = append(kvs, log.String(semconv.AttrProgressMessage, ev.progressMessage))
		}
	}
	if ev.errType != "" {
		kvs = append(kvs, log.String(semconv.AttrErrorType, ev.errType))
	}
	if ev.errMessage != "" {
		kvs = append(kvs, log.String(semconv.AttrErrorMessage, ev.errMessage))
	}
	if ev.terminal {
		kvs = append(kvs, log.Float64(semconv.AttrDurationS, ev.durationS))
		if ev.hasCPU {
			kvs = append(kvs, log.Float64(semconv.AttrCPUUserS, ev.cpuUser), log.Float64(semconv.AttrCPUSystemS, ev.cpuSys))
		}
		if ev.hasMemory {
			kvs = append(kvs, log.Float64(semconv.AttrMemMaxMB, ev.memMaxMB))
		}
	}
	for _, mv := range ev.metrics {
		kvs = append(kvs, log.Float64(semconv.MetricPrefix+mv.name, mv.value))
	}
	for _, a := range ev.attrs {
		kvs = append(kvs, log.KeyValueFromAttribute(a))
	}
	if len(ev.metrics) > 0 || len(ev.attrs) > 0 {
		// Only the application's names can repeat a key.
		kvs = dedupKeys(kvs)
	}
	r.AddAttributes(kvs...)
	return r
}

// dedupKeys keeps the last of the attributes that share a key, as the log
// SDK would, without a map: records have a few dozen attributes at most. It
// lets the records go through a LoggerProvider that does not look for repeated
// keys (sdklog.WithAllowKeyDuplication).
func dedupKeys(kvs []log.KeyValue) []log.KeyValue {
	out := kvs[:0]
	for i, kv := range kvs {
		later := false
		for _, o := range kvs[i+1:] {
			if o.Key == kv.Key {
				later = true
				break
			}
		}
		if !later {
			out = append(out, kv)
		}
	}
	return out
}

// kvMaker makes the key-values of one attribute API: trace attributes or
// log attributes, which the entity's span and its log records carry alike.
type kvMaker[KV any] struct {
	str  func(k, v string) KV
	bool func(k string, v bool) KV
	int  func(k string, v int) KV
}

var (
	spanKVs = kvMaker[attribute.KeyValue]{
		str:  func(k, v string) attribute.KeyValue { return attribute.String(k, v) },
		bool: func(k string, v bool) attribute.KeyValue { return attribute.Bool(k, v) },
		int:  func(k string, v int) attribute.KeyValue { return attribute.Int(k, v) },
	}
	logKVs = kvMaker[log.KeyValue]{str: log.String, bool: log.Bool, int: log.Int}
)

// appendEntityAttrs appends the attributes that identify the entity beyond
// its type and ID: parent, keys, orphan, expected subjobs.
func appendEntityAttrs[KV any](kvs []KV, j *Job, mk kvMaker[KV]) []KV {
	if j.parentString != "" {
		kvs = append(kvs, mk.str(semconv.AttrParentID, j.parentString))
	}
	if j.businessKey != "" {
		kvs = append(kvs, mk.str(semconv.AttrBusinessKey, j.businessKey))
	}
	if j.subKey != "" {
		kvs = append(kvs, mk.str(semconv.AttrSubKey, j.subKey))
	}
	if j.orphan {
		kvs = append(kvs, mk.bool(semconv.AttrOrphan, true))
	}
	if j.hasExpected {
		kvs = append(kvs, mk.int(semconv.AttrExpectedSubjobs, j.expected))
	}
	return kvs
}

// describe is the human-readable body: "subjob 3f2a… finished: failed".
func (j *Job) describe(b []byte, ev *event) []byte {
	b = append(b, j.entityType()...)
	b = append(b, ' ')
	b = append(b, j.idString...)
	b = append(b, ' ')
	b = append(b, kinds[ev.kind]...)
	switch {
	case ev.terminal:
		b = append(b, ": "...)
		b = append(b, ev.status...)
		if ev.errMessage != "" {
			b = append(b, ": "...)
			b = append(b, ev.errMessage...)
		}
	case ev.hasProgress:
		b = append(b, ": "...)
		if ev.hasDoneTotal {
			b = strconv.AppendFloat(b, ev.done, 'g', -1, 64)
			b = append(b, '/')
			b = strconv.AppendFloat(b, ev.total, 'g', -1, 64)
		} else {
			b = strconv.AppendFloat(b, ev.fraction*100, 'f', 1, 64)
			b = append(b, '%')
		}
		if ev.progressMessage != "" {
			b = append(b, ' ')
			b = append(b, ev.progressMessage...)
		}
	case len(ev.metrics) > 0:
		b = append(b, ": "...)
		for i, mv := range ev.metrics {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, mv.name...)
			b = append(b, '=')
			b = strconv.AppendFloat(b, mv.value, 'g', -1, 64)
		}
	}
	return b
}

func (j *Job) v1Event(ev *event) v1event.Event {
	m := j.m
	out := v1event.Event{
		IdempotencyKey: formatUUID(ev.key),
		SiteID:         m.cfg.site,
		App:            v1event.App{AppID: m.cfg.appID, Name: m.cfg.serviceName, Version: m.cfg.serviceVersion},
		Entity: v1event.Entity{
			Type:        j.entityType(),
			ID:          j.idString,
			ParentID:    v1event.Optional(j.parentString),
			BusinessKey: v1event.Optional(j.businessKey),
			SubKey:      v1event.Optional(j.subKey),
		},
		Event: v1event.Body{
			Kind:    kinds[ev.kind],
			At:      ev.at.UTC().Format(time.RFC3339Nano),
			Status:  ev.status,
			Metrics: make(map[string]float64, 4+len(ev.metrics)),
		},
	}
	var mvs [8]namedValue
	for _, mv := range ev.appendMetrics(mvs[:0]) {
		out.Event.Metrics[mv.name] = mv.value
	}
	md := map[string]any{}
	out.Event.Metadata = md
	if ev.hasProgress {
		if ev.hasDoneTotal {
			md[v1event.MetadataDone], md[v1event.MetadataTotal] = ev.done, ev.total
		}
		md[v1event.MetadataFraction] = ev.fraction
		if ev.progressMessage != "" {
			md[v1event.MetadataMessage] = ev.progressMessage
		}
	}
	if ev.errMessage != "" {
		md[v1event.MetadataError] = ev.errMessage
	}
	if ev.errType != "" {
		md[v1event.MetadataErrorType] = ev.errType
	}
	if j.hasExpected && ev.kind == kindStarted {
		md[v1event.MetadataExpectedSubjobs] = j.expected
	}
	for _, a := range ev.attrs {
		md[string(a.Key)] = a.Value.AsInterface()
	}
	return out
}
