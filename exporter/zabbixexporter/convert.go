package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/internal/entity"
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
	// trigger: a trigger of the template reads the item's values as they
	// arrive (readByTrigger).
	trigger bool
}

// readByTrigger reports whether a trigger prototype of the template reads
// the item's values as they arrive (last()), rather than by timer
// (nodata()); TestTriggerItemsAreHeld checks it against the template.
func readByTrigger(item string) bool {
	switch item {
	case itemStatus, itemOutcome, itemRollupComplete:
		return true
	}
	return false
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

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// rowOf names the job type of an entity from its attributes and resource.
func (c *converter) rowOf(attrs, res pcommon.Map, job string) jobType {
	v, r := entity.Of(attrs), entity.Of(res)
	site := v.Text(semconv.AttrSiteID)
	if site == "" {
		site = r.Text(semconv.AttrSiteID)
	}
	app := v.Text(semconv.AttrServiceName)
	if app == "" {
		app = r.Text(semconv.AttrServiceName)
	}
	return jobType{
		host:       hostName(c.host.render(attrs, res)),
		site:       keyParam(site),
		app:        keyParam(app),
		job:        keyParam(job),
		entityType: keyParam(v.Type()),
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
	rv.out = append(rv.out, value{host: rv.row.host, key: itemKey(item, rv.row), text: text, at: rv.at, row: rv.row, id: rv.id, trigger: readByTrigger(item)})
}

// addFloat adds a number; Zabbix has no NaN or infinity (such a value
// would turn the item unsupported), so they are left out.
func (rv *rowValues) addFloat(item string, f float64) {
	if !math.IsNaN(f) && !math.IsInf(f, 0) {
		rv.add(item, formatFloat(f))
	}
}

// outcomeOf is the entity's outcome: the jobhierarchy processor's rolled-up
// job outcome, else the entity's own (entity.View.Outcome).
func outcomeOf(v entity.View) string {
	if o := v.JobOutcome(); o != "" {
		return o
	}
	return v.Outcome()
}

// measurements adds what a terminal event or span carries; duration is
// its wall time when known.
func (rv *rowValues) measurements(v entity.View, duration float64, hasDuration bool, outcome string, failedEvent bool) {
	rv.addFloat(itemCompleted, 1)
	if outcome != "" {
		rv.add(itemOutcome, outcome)
	}
	if v.RolledUp() {
		complete := 1.0
		if !v.RollupComplete() {
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
	if hasDuration {
		rv.addFloat(itemDuration, duration)
	}
	for _, m := range []struct{ key, item string }{
		{semconv.MetricKeyCPUUserS, itemCPUUser},
		{semconv.MetricKeyCPUSystemS, itemCPUSystem},
		{semconv.MetricKeyMemMaxMB, itemMemoryMax},
	} {
		if f, ok := v.Metric(m.key); ok {
			rv.addFloat(m.item, f)
		}
	}
}

// fromLog converts one lifecycle event; records that are not lifecycle
// events (no entity type or event kind) give nothing.
func (c *converter) fromLog(res pcommon.Map, lr plog.LogRecord) []value {
	attrs := lr.Attributes()
	v := entity.Of(attrs)
	kind := v.Kind()
	etype := v.Type()
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
	id := v.ID()
	n := maxOtherValues
	if semconv.IsTerminal(kind) {
		n = maxTerminalValues
	}
	rv := newRowValues(&row, at, eventID(attrs, id, kind, at), n)
	rv.addFloat(itemEvents, 1)

	status := v.Status()
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
		outcome := outcomeOf(v)
		if kind == semconv.KindTimeout {
			outcome = semconv.OutcomeTimeout
		}
		duration, hasDuration := v.DurationS()
		rv.measurements(v, duration, hasDuration, outcome, kind == semconv.KindError)
		rv.addFloat(itemRunning, float64(c.running.remove(row, id)))
	case kind == semconv.KindStarted, kind == semconv.KindProgress, kind == semconv.KindMetric, kind == semconv.KindRecovered:
		if status != "" {
			rv.add(itemStatus, status)
		}
		rv.addFloat(itemRunning, float64(c.running.add(row, id)))
	}
	out := rv.out
	if c.legacy {
		text := "1"
		if d, ok := v.DurationS(); ok {
			text = formatFloat(d)
		}
		host := hostName(c.legacyHost.render(attrs, res))
		out = append(out, value{
			host: host,
			key:  semconv.EventName(keyParam(etype), keyParam(kind)),
			text: text,
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
	v := entity.Of(attrs)
	if v.Type() == "" {
		return nil
	}
	row := c.rowOf(attrs, res, c.job.render(attrs, res))
	rv := newRowValues(&row, span.EndTimestamp().AsTime(), spanEventID(span, attrs), maxTerminalValues)
	rv.addFloat(itemEvents, 1)
	if status := v.Status(); status != "" {
		rv.add(itemStatus, status)
	}
	outcome := v.JobOutcome()
	if outcome == "" {
		outcome = entity.SpanOutcome(span)
	}
	duration, hasDuration := entity.SpanDuration(span)
	rv.measurements(v, duration, hasDuration, outcome, false)
	rv.addFloat(itemRunning, float64(c.running.remove(row, v.ID())))
	return rv.out
}

// eventID hashes a lifecycle event's identity: its idempotency key, which
// the wafermonitor receiver, the SDK and the jobhierarchy processor always
// set and keep across retries and paths; else its entity, kind and time (as
// the receiver derives a missing key).
func eventID(attrs pcommon.Map, entityID, kind string, at time.Time) uint64 {
	if key := entity.Of(attrs).IdempotencyKey(); key != "" {
		return eventHash("key", key)
	}
	return eventHash("event", entityID, kind, strconv.FormatInt(at.UnixNano(), 10))
}

// spanEventID hashes a finished entity's span: its trace and span IDs
// (derived from the entity's UUID), entity, end time and status, so that
// the same span sent again is the same, and two spans of one entity (an
// error, then the finish) are not.
func spanEventID(span ptrace.Span, attrs pcommon.Map) uint64 {
	v := entity.Of(attrs)
	tid, sid := span.TraceID(), span.SpanID()
	return newIDHash().addString("span").addBytes(tid[:]).addBytes(sid[:]).addString(v.ID()).
		addString(strconv.FormatUint(uint64(span.EndTimestamp()), 10)).addString(v.Status()).sum()
}
