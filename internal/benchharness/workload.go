package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The workload: subjobs of 100 per job, each reported by two events,
// `started` (status running) and `finished` (status succeeded, with CPU,
// memory and duration metrics), in the canonical v1 form the Python client
// sends. Event n (a counter per collector, so that no entity or idempotency
// key repeats in a run) is event n%2 of subjob n/2, whose job is n/200.
//
// The OTLP form of an event is the log record the wafermonitor receiver makes
// of it (same resource, scope, event name, trace and span IDs, severity, body
// and attributes), sent to /v1/logs. From it the v1 path does more work per
// event: the receiver also makes a span of each terminal event, updates its
// cumulative metrics and deduplicates by idempotency key. The OTLP form of
// the same output (otlp-json-spans, workload_spans.go) adds those spans.
const subjobsPerJob = 100

// The events happened when the harness started: as recent as a site's, so
// that the csv exporter files their rows in the day's files, not in the
// out_of_range file of events outside its event-time window.
var (
	eventTime    = time.Now().UTC().Truncate(time.Second).Add(123456 * time.Microsecond)
	observedTime = eventTime.Add(time.Second)
	eventAt      = eventTime.Format("2006-01-02T15:04:05.000000-07:00")
)

const (
	siteID     = "fab1"
	appID      = "5f1e2d3c-0000-4000-8000-000000000001"
	appName    = "litho-scheduler"
	appVersion = "1.4.2"
	bizKey     = "lot-4711"
	subKey     = "wafer"
	scopeName  = "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"
)

// UUIDs are built from a 12-hex-digit counter, so every ID has a fixed
// width and a payload template can be patched in place.
func jobUUID(j uint64) string    { return fmt.Sprintf("a0000000-0000-4000-8000-%012x", j) }
func subjobUUID(s uint64) string { return fmt.Sprintf("c0000000-0000-4000-8000-%012x", s) }
func eventKey(n uint64) string   { return fmt.Sprintf("e0000000-0000-4000-8000-%012x", n) }

// Placeholders of a template: counters no real run reaches.
const (
	placeholderJob    = 0xfedcba000000
	placeholderSubjob = 0xfedcb9000000
	placeholderEvent  = 0xfedcb8000000
)

func mustUUID(s string) ids.UUID {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad uuid " + s)
	}
	var u ids.UUID
	copy(u[:], b)
	return u
}

// benchEvent is one event of the workload: about a subjob of job, or, with
// ofJob, about the job itself (only `started`, to open jobs before a run).
type benchEvent struct {
	job, subjob, n uint64
	started        bool
	ofJob          bool
}

// eventMapping gives the event that counter value n stands for.
type eventMapping func(n uint64) benchEvent

// eventOf is the regular workload: one job after another, each subjob's
// started event followed at once by its finished event.
func eventOf(n uint64) benchEvent {
	s := n / 2
	return benchEvent{job: s / subjobsPerJob, subjob: s, n: n, started: n%2 == 0}
}

func (e benchEvent) kind() string {
	if e.started {
		return semconv.KindStarted
	}
	return semconv.KindFinished
}

func (e benchEvent) status() string {
	if e.started {
		return semconv.StatusRunning
	}
	return semconv.StatusSucceeded
}

// metrics of a finished subjob, in the receiver's order (sorted by name).
var finishedMetrics = []struct {
	name  string
	value float64
}{
	{semconv.MetricKeyCPUSystemS, 0.1},
	{semconv.MetricKeyCPUUserS, 1.25},
	{semconv.MetricKeyDurationS, finishedDurationS},
	{semconv.MetricKeyMemMaxMB, 412.5},
}

func v1JSON(buf *bytes.Buffer, e benchEvent) {
	if e.ofJob {
		fmt.Fprintf(buf, `{"idempotency_key":%q,"site_id":%q,"app":{"app_id":%q,"name":%q,"version":%q},`+
			`"entity":{"type":"job","id":%q,"business_key":%q},"event":{"kind":%q,"at":%q,`+
			`"status":%q,"metadata":{"expected_subjobs":%d}}}`,
			eventKey(e.n), siteID, appID, appName, appVersion, jobUUID(e.job), bizKey, e.kind(), eventAt, e.status(), subjobsPerJob)
		return
	}
	fmt.Fprintf(buf, `{"idempotency_key":%q,"site_id":%q,"app":{"app_id":%q,"name":%q,"version":%q},`+
		`"entity":{"type":"subjob","id":%q,"parent_id":%q,"business_key":%q,"sub_key":%q},`+
		`"event":{"kind":%q,"at":%q,`,
		eventKey(e.n), siteID, appID, appName, appVersion, subjobUUID(e.subjob), jobUUID(e.job), bizKey, subKey, e.kind(), eventAt)
	if !e.started {
		buf.WriteString(`"metrics":{"cpu_user_s":1.25,"cpu_system_s":0.1,"mem_max_mb":412.5,"duration_s":93.2},`)
	}
	fmt.Fprintf(buf, `"status":%q,"metadata":{}}}`, e.status())
}

// otlpLogs is what the wafermonitor receiver makes of the events (its
// convert.go): one resource and scope, one log record per event.
func otlpLogs(events []benchEvent) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	fillResource(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	fillScope(sl.Scope())
	for _, e := range events {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(eventTime))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observedTime))
		lr.SetEventName(semconv.EventName(semconv.EntityTypeSubjob, e.kind()))
		id := e.ids()
		lr.SetTraceID(id.TraceID)
		lr.SetSpanID(id.SpanID)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr(semconv.EntityTypeSubjob + " " + subjobUUID(e.subjob) + " " + e.kind() + ": " + e.status())
		attrs := lr.Attributes()
		putSubjobAttributes(attrs, e)
		attrs.PutStr(semconv.AttrEventKind, e.kind())
		attrs.PutStr(semconv.AttrIdempotencyKey, eventKey(e.n))
		if !e.started {
			attrs.PutStr(semconv.AttrOutcome, semconv.OutcomeOf(e.status()))
		}
	}
	return logs
}

// fillResource and fillScope are the resource and scope the receiver gives
// every event of the workload, log record or span.
func fillResource(r pcommon.Resource) {
	entity.Resource{ServiceName: appName, ServiceVersion: appVersion, SiteID: siteID, AppID: appID}.Fill(r)
}

func fillScope(s pcommon.InstrumentationScope) {
	s.SetName(scopeName)
	s.SetVersion("0.1.0")
}

// ids are the trace and span IDs of the event's subjob.
func (e benchEvent) ids() ids.Entity {
	return ids.ForSubjob(mustUUID(subjobUUID(e.subjob)), mustUUID(jobUUID(e.job)), true)
}

// putSubjobAttributes writes what the receiver puts on a subjob's log
// records and span alike: the entity, its status and a finished subjob's
// measurements.
func putSubjobAttributes(attrs pcommon.Map, e benchEvent) {
	entity.Ref{Type: semconv.EntityTypeSubjob, ID: subjobUUID(e.subjob), ParentID: jobUUID(e.job), BusinessKey: bizKey, SubKey: subKey}.PutAttributes(attrs, e.status())
	if !e.started {
		for _, m := range finishedMetrics {
			attrs.PutDouble(semconv.MetricPrefix+m.name, m.value)
		}
	}
}

// patch is one place in a template where a value of fixed width goes.
type patch struct {
	off   int
	field func(e benchEvent) []byte
}

// template is an encoded request body with the IDs of its events at known
// offsets: a request for other events is a copy with those bytes replaced,
// which keeps the load generator's own CPU cost far below the collector's.
type template struct {
	body    []byte
	events  int
	patches [][]patch // per event slot
}

type encoding int

const (
	encV1 encoding = iota
	encOTLPJSON
	encOTLPProto
)

// placeholderSlots are the events a template is made of: `events`
// placeholder events, starting with a started event when firstStarted,
// alternating. Every slot has IDs of its own, so that the events of one
// request may belong to different jobs (the open-jobs workload).
func placeholderSlots(events int, firstStarted bool) []benchEvent {
	slots := make([]benchEvent, events)
	for i := range slots {
		started := (i%2 == 0) == firstStarted
		slots[i] = benchEvent{job: placeholderJob + uint64(i), subjob: placeholderSubjob + uint64(i), n: placeholderEvent + uint64(i), started: started}
	}
	return slots
}

// The fields of an event a template patches.
func fieldEventKey(e benchEvent) []byte { return []byte(eventKey(e.n)) }
func fieldSubjob(e benchEvent) []byte   { return []byte(subjobUUID(e.subjob)) }
func fieldJob(e benchEvent) []byte      { return []byte(jobUUID(e.job)) }
func subjobSpanID(e benchEvent) []byte  { id := e.ids().SpanID; return id[:] }
func jobTraceID(e benchEvent) []byte    { id := e.ids().TraceID; return id[:] }
func jobSpanID(e benchEvent) []byte     { id := e.ids().ParentSpanID; return id[:] }

// idField is an ID field as protobuf (raw) or OTLP JSON (hex) carries it.
func idField(raw bool, id func(benchEvent) []byte) func(benchEvent) []byte {
	if raw {
		return id
	}
	return func(e benchEvent) []byte { return []byte(hex.EncodeToString(id(e))) }
}

// newTemplate encodes `events` placeholder events (placeholderSlots) and
// locates every ID in the result.
func newTemplate(enc encoding, events int, firstStarted bool, batch bool) *template {
	slots := placeholderSlots(events, firstStarted)
	t := &template{body: encodeEvents(enc, slots, batch), events: events, patches: make([][]patch, events)}
	fields := []func(benchEvent) []byte{fieldEventKey, fieldSubjob, fieldJob}
	if enc != encV1 {
		raw := enc == encOTLPProto
		fields = append(fields, idField(raw, subjobSpanID), idField(raw, jobTraceID))
	}
	for i, e := range slots {
		t.locateAll(i, e, fields)
	}
	return t
}

// encodeEvents is the request body for events.
func encodeEvents(enc encoding, events []benchEvent, batch bool) []byte {
	switch enc {
	case encOTLPJSON:
		body, err := (&plog.JSONMarshaler{}).MarshalLogs(otlpLogs(events))
		if err != nil {
			panic(err)
		}
		return body
	case encOTLPProto:
		body, err := (&plog.ProtoMarshaler{}).MarshalLogs(otlpLogs(events))
		if err != nil {
			panic(err)
		}
		return body
	}
	var buf bytes.Buffer
	if batch {
		buf.WriteByte('[')
	}
	for i, e := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		v1JSON(&buf, e)
	}
	if batch {
		buf.WriteByte(']')
	}
	return buf.Bytes()
}

// locateAll locates every field of slot's placeholder event e.
func (t *template) locateAll(slot int, e benchEvent, fields []func(benchEvent) []byte) {
	for _, f := range fields {
		t.locate(slot, f(e), f)
	}
}

// locate records every occurrence of old in the body as a place of slot's
// field.
func (t *template) locate(slot int, old []byte, field func(benchEvent) []byte) {
	found := 0
	for off := 0; ; {
		i := bytes.Index(t.body[off:], old)
		if i < 0 {
			break
		}
		t.patches[slot] = append(t.patches[slot], patch{off: off + i, field: field})
		off += i + len(old)
		found++
	}
	if found == 0 {
		panic(fmt.Sprintf("template: %q not found", old))
	}
}

// render writes the body for the events of counter values first,
// first+1, … into dst.
func (t *template) render(dst []byte, first uint64, events eventMapping) []byte {
	dst = append(dst[:0], t.body...)
	for i, ps := range t.patches {
		e := events(first + uint64(i))
		for _, p := range ps {
			copy(dst[p.off:], p.field(e))
		}
	}
	return dst
}
