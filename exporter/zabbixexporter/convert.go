package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Item keys of the template's item prototypes; each takes the parameters
// ["{#APP}","{#JOB}","{#TYPE}"].
const (
	itemStatus    = "wafer.status"
	itemOutcome   = "wafer.outcome"
	itemDuration  = "wafer.duration"
	itemCPUUser   = "wafer.cpu.user"
	itemCPUSystem = "wafer.cpu.system"
	itemMemoryMax = "wafer.memory.max"
	itemCompleted = "wafer.completed"
	itemFailures  = "wafer.failures"
	itemRunning   = "wafer.running"
	itemStalls    = "wafer.stalls"
	itemTimeouts  = "wafer.timeouts"
	// itemMissed is 1 per missed run of a schedule (the jobhierarchy
	// processor's missed event).
	itemMissed = "wafer.missed"
	itemEvents = "wafer.events"
	// itemRollupComplete is 0 for a job whose roll-ups lost subjobs, sent
	// with every rolled-up outcome.
	itemRollupComplete = "wafer.rollup.complete"
)

// statusStalled is what the status item shows for a stalled entity, so
// that the template's "stalled" trigger can match it.
const statusStalled = "stalled"

// value is one value for Zabbix before it is sent. row is the job type the
// item belongs to; id is the hash of the event it comes from (eventHash),
// so that two events of one item at the same time stay two values: their
// ns derive from it (stamp.go).
type value struct {
	host, key, text string
	at              time.Time
	row             *jobType
	id              uint64
}

// converter turns records, spans and data points into values.
type converter struct {
	host, job, legacyHost nameTemplate
	metricsJob            string
	legacy                bool
	running               *runningSet
}

func newConverter(cfg *Config) (*converter, error) {
	host, err := parseNameTemplate(cfg.Host)
	if err != nil {
		return nil, err
	}
	job, err := parseNameTemplate(cfg.Job)
	if err != nil {
		return nil, err
	}
	c := &converter{host: host, job: job, metricsJob: cfg.MetricsJob, legacy: cfg.Legacy.Enabled,
		running: newRunningSet(cfg.MaxRunningEntities)}
	if cfg.Legacy.Enabled {
		if c.legacyHost, err = parseNameTemplate(cfg.Legacy.Host); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func str(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func num(m pcommon.Map, key string) (float64, bool) {
	v, ok := m.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f := v.Double()
		// Zabbix has no NaN or infinity: such a value would turn the item unsupported.
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// rowOf names the job type of an entity from its attributes and resource.
func (c *converter) rowOf(attrs, res pcommon.Map, job string) jobType {
	site := str(attrs, semconv.AttrSiteID)
	if site == "" {
		site = str(res, semconv.AttrSiteID)
	}
	app := str(attrs, semconv.AttrServiceName)
	if app == "" {
		app = str(res, semconv.AttrServiceName)
	}
	return jobType{
		host:       hostName(c.host.render(attrs, res)),
		site:       keyParam(site),
		app:        keyParam(app),
		job:        keyParam(job),
		entityType: keyParam(str(attrs, semconv.AttrEntityType)),
	}
}

// itemKey is the key of one of the row's items, as Zabbix makes it from the
// item prototype.
func itemKey(item string, r *jobType) string {
	return item + `["` + r.app + `","` + r.job + `","` + r.entityType + `"]`
}

type rowValues struct {
	row *jobType
	at  time.Time
	id  uint64
	out []value
}

// Most values an event gives: a terminal one (events, status, outcome,
// roll-up, completed, failures, timeouts, four measurements, running) and
// its legacy key; another (events, status, stalls, running) and its legacy
// key. Sized once, the values take one allocation.
const (
	maxTerminalValues = 13
	maxOtherValues    = 5
)

// newRowValues collects the values, at most n, of the event whose identity
// hashes to id.
func newRowValues(row *jobType, at time.Time, id uint64, n int) *rowValues {
	return &rowValues{row: row, at: at, id: id, out: make([]value, 0, n)}
}

func (rv *rowValues) add(item, text string) {
	rv.out = append(rv.out, value{host: rv.row.host, key: itemKey(item, rv.row), text: text, at: rv.at, row: rv.row, id: rv.id})
}

func (rv *rowValues) addFloat(item string, f float64) { rv.add(item, formatFloat(f)) }

// outcomeOf is the entity's outcome: the jobhierarchy processor's rolled-up
// job outcome, else the event's own, else the one its status implies.
func outcomeOf(attrs pcommon.Map, status string) string {
	if o := str(attrs, semconv.AttrJobOutcome); o != "" {
		return o
	}
	if o := str(attrs, semconv.AttrOutcome); o != "" {
		return o
	}
	return semconv.OutcomeOf(status)
}

// measurements adds what a terminal event or span carries.
func (rv *rowValues) measurements(attrs pcommon.Map, outcome string, failedEvent bool) {
	rv.addFloat(itemCompleted, 1)
	if outcome != "" {
		rv.add(itemOutcome, outcome)
	}
	if _, rolledUp := attrs.Get(semconv.AttrJobOutcome); rolledUp {
		complete := 1.0
		if v, ok := attrs.Get(semconv.AttrJobRollupComplete); ok && v.Type() == pcommon.ValueTypeBool && !v.Bool() {
			complete = 0
		}
		rv.addFloat(itemRollupComplete, complete)
	}
	if outcome == semconv.OutcomeFailure || failedEvent {
		rv.addFloat(itemFailures, 1)
	}
	if outcome == semconv.OutcomeTimeout {
		rv.addFloat(itemTimeouts, 1)
	}
	for _, m := range []struct{ attr, item string }{
		{semconv.AttrDurationS, itemDuration},
		{semconv.AttrCPUUserS, itemCPUUser},
		{semconv.AttrCPUSystemS, itemCPUSystem},
		{semconv.AttrMemMaxMB, itemMemoryMax},
	} {
		if f, ok := num(attrs, m.attr); ok {
			rv.addFloat(m.item, f)
		}
	}
}

// fromLog converts one lifecycle event; records that are not lifecycle
// events (no entity type or event kind) give nothing.
func (c *converter) fromLog(res pcommon.Map, lr plog.LogRecord) []value {
	attrs := lr.Attributes()
	kind := str(attrs, semconv.AttrEventKind)
	etype := str(attrs, semconv.AttrEntityType)
	if kind == "" || etype == "" {
		return nil
	}
	// An event without a plausible time is stamped with the time the
	// collector received it, which stays the same when the record is sent
	// again.
	at := lr.Timestamp().AsTime()
	if at.Before(earliestClock) && lr.ObservedTimestamp() != 0 {
		at = lr.ObservedTimestamp().AsTime()
	}
	row := c.rowOf(attrs, res, c.job.render(attrs, res))
	id := str(attrs, semconv.AttrEntityID)
	n := maxOtherValues
	if semconv.IsTerminal(kind) {
		n = maxTerminalValues
	}
	rv := newRowValues(&row, at, eventID(attrs, id, kind, at), n)
	rv.addFloat(itemEvents, 1)

	status := str(attrs, semconv.AttrStatus)
	switch {
	case kind == semconv.KindStalled:
		rv.add(itemStatus, statusStalled)
		rv.addFloat(itemStalls, 1)
		rv.addFloat(itemRunning, float64(c.running.add(row, id)))
	case kind == semconv.KindMissed:
		// A run that never started: the status trigger fires, nothing ran.
		rv.add(itemStatus, semconv.StatusMissed)
		rv.addFloat(itemMissed, 1)
	case semconv.IsTerminal(kind):
		if kind == semconv.KindTimeout && status == "" {
			status = semconv.StatusTimedOut
		}
		if status != "" {
			rv.add(itemStatus, status)
		}
		outcome := outcomeOf(attrs, status)
		if kind == semconv.KindTimeout {
			outcome = semconv.OutcomeTimeout
		}
		rv.measurements(attrs, outcome, kind == semconv.KindError)
		rv.addFloat(itemRunning, float64(c.running.remove(row, id)))
	case kind == semconv.KindStarted, kind == semconv.KindProgress, kind == semconv.KindMetric, kind == semconv.KindRecovered:
		if status != "" {
			rv.add(itemStatus, status)
		}
		rv.addFloat(itemRunning, float64(c.running.add(row, id)))
	}
	out := rv.out
	if c.legacy {
		v := "1"
		if d, ok := num(attrs, semconv.AttrDurationS); ok {
			v = formatFloat(d)
		}
		host := hostName(c.legacyHost.render(attrs, res))
		out = append(out, value{
			host: host,
			key:  semconv.EventName(keyParam(etype), keyParam(kind)),
			text: v,
			at:   at,
			row:  &jobType{host: host, legacy: true},
			id:   rv.id,
		})
	}
	return out
}

// fromSpan converts one finished entity; spans without an entity type
// (other applications' spans) give nothing.
func (c *converter) fromSpan(res pcommon.Map, span ptrace.Span) []value {
	attrs := span.Attributes()
	if str(attrs, semconv.AttrEntityType) == "" {
		return nil
	}
	row := c.rowOf(attrs, res, c.job.render(attrs, res))
	rv := newRowValues(&row, span.EndTimestamp().AsTime(), spanEventID(span, attrs), maxTerminalValues)
	rv.addFloat(itemEvents, 1)
	status := str(attrs, semconv.AttrStatus)
	if status != "" {
		rv.add(itemStatus, status)
	}
	outcome := outcomeOf(attrs, status)
	if outcome == "" && span.Status().Code() == ptrace.StatusCodeError {
		outcome = semconv.OutcomeFailure
	}
	if _, ok := attrs.Get(semconv.AttrDurationS); !ok && span.EndTimestamp() > span.StartTimestamp() {
		attrs = copyWith(attrs, semconv.AttrDurationS, span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()).Seconds())
	}
	rv.measurements(attrs, outcome, false)
	rv.addFloat(itemRunning, float64(c.running.remove(row, str(attrs, semconv.AttrEntityID))))
	return rv.out
}

// eventID hashes a lifecycle event's identity: its idempotency key, which
// the wafermonitor receiver, the SDK and the jobhierarchy processor always
// set and keep across retries and paths; else its entity, kind and time (as
// the receiver derives a missing key).
func eventID(attrs pcommon.Map, entityID, kind string, at time.Time) uint64 {
	if key := str(attrs, semconv.AttrIdempotencyKey); key != "" {
		return eventHash("key", key)
	}
	return eventHash("event", entityID, kind, strconv.FormatInt(at.UnixNano(), 10))
}

// spanEventID hashes a finished entity's span: its trace and span IDs
// (derived from the entity's UUID), entity, end time and status, so that
// the same span sent again is the same, and two spans of one entity (an
// error, then the finish) are not.
func spanEventID(span ptrace.Span, attrs pcommon.Map) uint64 {
	tid, sid := span.TraceID(), span.SpanID()
	return newIDHash().addString("span").addBytes(tid[:]).addBytes(sid[:]).addString(str(attrs, semconv.AttrEntityID)).
		addString(strconv.FormatUint(uint64(span.EndTimestamp()), 10)).addString(str(attrs, semconv.AttrStatus)).sum()
}

func copyWith(attrs pcommon.Map, key string, f float64) pcommon.Map {
	m := pcommon.NewMap()
	attrs.CopyTo(m)
	m.PutDouble(key, f)
	return m
}
