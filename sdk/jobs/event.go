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

// event is one lifecycle event of an entity, built once and then written as
// a log record and, with a sidecar, as a v1 event.
type event struct {
	kind    string
	status  string
	at      time.Time
	metrics []namedValue
	attrs   []attribute.KeyValue

	hasProgress     bool
	done, total     float64
	hasDoneTotal    bool
	fraction        float64
	progressMessage string

	errType, errMessage string
}

type namedValue struct {
	name  string
	value float64
}

func severityOf(kind, status string) (log.Severity, string) {
	switch {
	case kind == semconv.KindError || status == semconv.StatusFailed:
		return log.SeverityError, "ERROR"
	case kind == semconv.KindCanceled:
		return log.SeverityWarn, "WARN"
	}
	return log.SeverityInfo, "INFO"
}

// emit writes ev as a log record and a v1 event, and counts it.
func (j *Job) emit(ev *event) {
	m := j.m
	m.inst.countEvent(context.Background(), j.typ, ev.kind)
	if m.logsEnabled(ev) {
		m.logger.Emit(trace.ContextWithSpan(context.Background(), j.span), j.logRecord(ev))
	}
	if m.sidecar != nil {
		m.sidecar.enqueue(j.v1Event(ev))
	}
}

func (m *Monitor) logsEnabled(ev *event) bool {
	sev, _ := severityOf(ev.kind, ev.status)
	return m.logger.Enabled(context.Background(), log.EnabledParameters{Severity: sev, EventName: ev.kind})
}

func (j *Job) logRecord(ev *event) log.Record {
	var r log.Record
	r.SetEventName(semconv.EventName(j.entityType(), ev.kind))
	r.SetTimestamp(ev.at)
	r.SetObservedTimestamp(ev.at)
	sev, text := severityOf(ev.kind, ev.status)
	r.SetSeverity(sev)
	r.SetSeverityText(text)
	r.SetBody(log.StringValue(j.describe(ev)))

	kvs := make([]log.KeyValue, 0, 12+len(ev.metrics)+len(ev.attrs))
	kvs = append(kvs,
		log.String(semconv.AttrEntityType, j.entityType()),
		log.String(semconv.AttrEntityID, j.idString),
	)
	kvs = j.appendEntityLogAttrs(kvs)
	kvs = append(kvs,
		log.String(semconv.AttrStatus, ev.status),
		log.String(semconv.AttrEventKind, ev.kind),
		log.String(semconv.AttrIdempotencyKey, formatUUID(newUUID(false, ev.at))),
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
	for _, mv := range ev.metrics {
		kvs = append(kvs, log.Float64(semconv.MetricPrefix+mv.name, mv.value))
	}
	for _, a := range ev.attrs {
		kvs = append(kvs, log.KeyValueFromAttribute(a))
	}
	r.AddAttributes(kvs...)
	return r
}

func (j *Job) appendEntityLogAttrs(kvs []log.KeyValue) []log.KeyValue {
	if j.parentString != "" {
		kvs = append(kvs, log.String(semconv.AttrParentID, j.parentString))
	}
	if j.businessKey != "" {
		kvs = append(kvs, log.String(semconv.AttrBusinessKey, j.businessKey))
	}
	if j.subKey != "" {
		kvs = append(kvs, log.String(semconv.AttrSubKey, j.subKey))
	}
	if j.orphan {
		kvs = append(kvs, log.Bool(semconv.AttrOrphan, true))
	}
	if j.hasExpected {
		kvs = append(kvs, log.Int(semconv.AttrExpectedSubjobs, j.expected))
	}
	return kvs
}

// describe is the human-readable body: "subjob 3f2a… finished: failed".
func (j *Job) describe(ev *event) string {
	b := make([]byte, 0, 96)
	b = append(b, j.entityType()...)
	b = append(b, ' ')
	b = append(b, j.idString...)
	b = append(b, ' ')
	b = append(b, ev.kind...)
	switch {
	case semconv.IsTerminal(ev.kind):
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
	return string(b)
}

func (j *Job) v1Event(ev *event) v1event.Event {
	m := j.m
	out := v1event.Event{
		IdempotencyKey: formatUUID(newUUID(false, ev.at)),
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
			Kind:     ev.kind,
			At:       ev.at.UTC().Format(time.RFC3339Nano),
			Status:   ev.status,
			Metrics:  make(map[string]float64, len(ev.metrics)),
			Metadata: map[string]any{},
		},
	}
	for _, mv := range ev.metrics {
		out.Event.Metrics[mv.name] = mv.value
	}
	md := out.Event.Metadata
	if ev.hasProgress {
		if ev.hasDoneTotal {
			md["done"], md["total"] = ev.done, ev.total
		}
		md["fraction"] = ev.fraction
		if ev.progressMessage != "" {
			md["message"] = ev.progressMessage
		}
	}
	if ev.errMessage != "" {
		md["error"] = ev.errMessage
	}
	if ev.errType != "" {
		md["error_type"] = ev.errType
	}
	if j.hasExpected && ev.kind == semconv.KindStarted {
		md["expected_subjobs"] = j.expected
	}
	for _, a := range ev.attrs {
		md[string(a.Key)] = a.Value.AsInterface()
	}
	return out
}
