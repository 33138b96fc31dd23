package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// event is one v1 event after validation and normalisation: every client
// variant (canonical, flat snake_case, flat camelCase) ends up in this form.
type event struct {
	IdempotencyKey     string
	SiteID             string
	AppID              string
	AppName            string
	AppVersion         string
	EntityType         string // semconv.EntityTypeJob or semconv.EntityTypeSubjob
	EntityTypeOriginal string // the client's own name, when it differs
	EntityID           uuid.UUID
	ParentID           uuid.UUID
	HasParent          bool
	BusinessKey        string
	SubKey             string
	Kind               string
	At                 time.Time
	Status             string
	Metrics            []metricValue // sorted by name
	Metadata           map[string]any
}

type metricValue struct {
	Name  string
	Value float64
}

// metric returns the value of the named metric.
func (e *event) metric(name string) (float64, bool) {
	for _, m := range e.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// problem is one entry of a 422 answer's "detail" list.
type problem struct {
	Type string `json:"type"`
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
}

// Problem types, as the v1 API names them.
const (
	typeJSONInvalid     = "json_invalid"
	typeMissing         = "missing"
	typeStringType      = "string_type"
	typeStringTooShort  = "string_too_short"
	typeDictType        = "dict_type"
	typeListType        = "list_type"
	typeFloatType       = "float_type"
	typeEnum            = "enum"
	typeUUIDParsing     = "uuid_parsing"
	typeDatetimeParsing = "datetime_parsing"
)

// countBatchItems counts the events of a batch body (a bare array, or an
// object with an "events" array) without building them, and stops once it
// has counted more than limit. ok is false when the body has neither shape,
// is not well formed, or names its keys with escapes: the full decoding then
// decides. A small body decodes to many times its size ("[{},{},…]" to about
// 100 bytes an item), so a batch over max_batch_events is refused before it
// is built. The scan only follows strings and brackets; it validates nothing.
func countBatchItems(body []byte, limit int) (n int, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) {
		return 0, false
	}
	switch body[i] {
	case '[':
		return countArray(body, i, limit)
	case '{':
		i = skipSpace(body, i+1)
		for i < len(body) && body[i] == '"' {
			end := skipString(body, i)
			if end < 0 {
				return 0, false
			}
			key := body[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				return 0, false
			}
			i = skipSpace(body, end)
			if i >= len(body) || body[i] != ':' {
				return 0, false
			}
			i = skipSpace(body, i+1)
			if string(key) == "events" {
				if i < len(body) && body[i] == '[' {
					return countArray(body, i, limit)
				}
				return 0, false
			}
			if i = skipValue(body, i); i < 0 {
				return 0, false
			}
			i = skipSpace(body, i)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
			}
		}
	}
	return 0, false
}

// countArray counts the values of the array that starts at body[i] == '['.
func countArray(body []byte, i, limit int) (int, bool) {
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == ']' {
		return 0, true
	}
	n := 0
	for i < len(body) {
		if i = skipValue(body, i); i < 0 {
			return 0, false
		}
		n++
		if n > limit {
			return n, true
		}
		i = skipSpace(body, i)
		if i >= len(body) {
			break
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case ']':
			return n, true
		default:
			return 0, false
		}
	}
	return 0, false
}

func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at body[i] == '"',
// or -1 when it is not terminated.
func skipString(body []byte, i int) int {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value that starts at body[i], or -1.
func skipValue(body []byte, i int) int {
	if i >= len(body) {
		return -1
	}
	switch body[i] {
	case '"':
		return skipString(body, i)
	case '[', '{':
		depth := 0
		for j := i; j < len(body); j++ {
			switch body[j] {
			case '"':
				end := skipString(body, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	case ',', ']', '}', ':':
		return -1
	}
	j := i
	for j < len(body) && !strings.ContainsRune(",]} \t\n\r", rune(body[j])) {
		j++
	}
	return j
}

// parseJSON decodes a whole body, numbers kept exact.
func parseJSON(body []byte) (any, *problem) {
	if v, ok := fastParse(body); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &problem{Type: typeJSONInvalid, Loc: []any{"body"}, Msg: "invalid JSON: " + jsonErrorText(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &problem{Type: typeJSONInvalid, Loc: []any{"body"}, Msg: "invalid JSON: unexpected data after the top-level value"}
	}
	return v, nil
}

func jsonErrorText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// batchItems returns the events of a batch body: a bare array, or an object
// {"events": [...]}. A single event object is taken as a batch of one.
func batchItems(v any) ([]any, *problem) {
	switch t := v.(type) {
	case []any:
		return t, nil
	case map[string]any:
		if evs, ok := t["events"]; ok {
			if list, ok := evs.([]any); ok {
				return list, nil
			}
			return nil, &problem{Type: typeListType, Loc: []any{"body", "events"}, Msg: "events must be a JSON array of events"}
		}
		return []any{t}, nil
	}
	return nil, &problem{Type: typeListType, Loc: []any{"body"}, Msg: "a batch must be a JSON array of events or an object {\"events\": [...]}"}
}

// decoder validates and normalises events. now is the receive time, used
// for events without a timestamp.
type decoder struct {
	now time.Time
}

// decodeEvent validates one event object found at loc (["body"] or
// ["body", i]) and reports every problem it has.
func (d *decoder) decodeEvent(v any, loc []any) (event, []problem) {
	obj, ok := v.(map[string]any)
	if !ok {
		return event{}, []problem{{Type: typeDictType, Loc: loc, Msg: "an event must be a JSON object"}}
	}
	p := &fieldReader{loc: loc}
	var e event
	if isFlat(obj) {
		d.decodeFlat(obj, p, &e)
	} else {
		d.decodeCanonical(obj, p, &e)
	}
	if len(p.problems) > 0 {
		return event{}, p.problems
	}
	if e.IdempotencyKey == "" {
		// Deterministic, so that a client retrying a key-less event is still deduplicated.
		e.IdempotencyKey = "derived:" + e.EntityID.String() + ":" + e.Kind + ":" + strconv.FormatInt(e.At.UnixNano(), 10)
	}
	return e, nil
}

// isFlat tells the older clients' flat objects from the nested canonical form.
func isFlat(obj map[string]any) bool {
	if _, ok := obj["entity"]; ok {
		return false
	}
	if _, ok := obj["event"]; ok {
		return false
	}
	for _, k := range [...]string{"entity_id", "entityId", "entity_type", "entityType", "event_kind", "eventKind"} {
		if _, ok := obj[k]; ok {
			return true
		}
	}
	return false
}

func (d *decoder) decodeCanonical(obj map[string]any, p *fieldReader, e *event) {
	e.IdempotencyKey, _ = p.optString(obj, "idempotency_key")
	e.SiteID = p.reqNonEmptyString(obj, "site_id")

	if app, ok := p.reqObject(obj, "app"); ok {
		ap := p.sub("app")
		e.AppID, _ = ap.optString(app, "app_id")
		e.AppName, _ = ap.optString(app, "name")
		e.AppVersion = ap.optVersion(app, "version")
	}

	if ent, ok := p.reqObject(obj, "entity"); ok {
		ep := p.sub("entity")
		e.EntityType, e.EntityTypeOriginal = ep.entityType(ent, "type", false)
		e.EntityID = ep.reqUUID(ent, "id")
		e.ParentID, e.HasParent = ep.optUUID(ent, "parent_id")
		e.BusinessKey, _ = ep.optString(ent, "business_key")
		e.SubKey, _ = ep.optString(ent, "sub_key")
	}

	if ev, ok := p.reqObject(obj, "event"); ok {
		vp := p.sub("event")
		e.Kind = vp.eventKind(ev, "kind")
		e.At = vp.timestamp(ev, "at", d.now)
		e.Status = vp.status(ev, "status")
		e.Metrics = vp.metrics(ev, "metrics")
		e.Metadata = vp.metadata(ev, "metadata")
		if !e.HasParent {
			e.ParentID, e.HasParent = vp.sub("metadata").optUUIDIn(e.Metadata, "parent_job_id")
		}
	}
	e.Status = defaultStatus(e.Status, e.Kind)
}

// Flat field names: snake_case first, then the camelCase of the Java client.
var (
	flatIdempotencyKey = []string{"idempotency_key", "idempotencyKey"}
	flatSiteID         = []string{"site_id", "siteId"}
	flatAppID          = []string{"app_id", "appId"}
	flatAppName        = []string{"app_name", "appName"}
	flatAppVersion     = []string{"app_version", "appVersion"}
	flatEntityType     = []string{"entity_type", "entityType"}
	flatEntityID       = []string{"entity_id", "entityId"}
	flatParentID       = []string{"parent_id", "parentId", "parent_job_id", "parentJobId"}
	flatBusinessKey    = []string{"business_key", "businessKey"}
	flatSubKey         = []string{"sub_key", "subKey"}
	flatEventKind      = []string{"event_kind", "eventKind"}
	flatTimestamp      = []string{"timestamp", "at"}
)

// pick returns the first of names present in obj (the first name when none is).
func pick(obj map[string]any, names []string) string {
	for _, n := range names {
		if _, ok := obj[n]; ok {
			return n
		}
	}
	return names[0]
}

func (d *decoder) decodeFlat(obj map[string]any, p *fieldReader, e *event) {
	e.IdempotencyKey, _ = p.optString(obj, pick(obj, flatIdempotencyKey))
	e.SiteID = p.reqNonEmptyString(obj, pick(obj, flatSiteID))
	e.AppID, _ = p.optString(obj, pick(obj, flatAppID))
	e.AppName, _ = p.optString(obj, pick(obj, flatAppName))
	e.AppVersion = p.optVersion(obj, pick(obj, flatAppVersion))
	e.EntityType, e.EntityTypeOriginal = p.entityType(obj, pick(obj, flatEntityType), true)
	e.EntityID = p.reqUUID(obj, pick(obj, flatEntityID))
	e.ParentID, e.HasParent = p.optUUID(obj, pick(obj, flatParentID))
	e.BusinessKey, _ = p.optString(obj, pick(obj, flatBusinessKey))
	e.SubKey, _ = p.optString(obj, pick(obj, flatSubKey))
	e.Kind = p.eventKind(obj, pick(obj, flatEventKind))
	e.At = p.timestamp(obj, pick(obj, flatTimestamp), d.now)
	e.Status = p.status(obj, "status")
	e.Metrics = p.metrics(obj, "metrics")
	e.Metadata = p.metadata(obj, "metadata")
	if !e.HasParent {
		e.ParentID, e.HasParent = p.sub("metadata").optUUIDIn(e.Metadata, "parent_job_id")
	}
	e.Status = defaultStatus(e.Status, e.Kind)
}

// fieldReader reads typed fields and collects a problem for each bad one.
type fieldReader struct {
	loc      []any
	problems []problem
	parent   *fieldReader
}

func (p *fieldReader) root() *fieldReader {
	for p.parent != nil {
		p = p.parent
	}
	return p
}

func (p *fieldReader) sub(key string) *fieldReader {
	loc := make([]any, len(p.loc), len(p.loc)+1)
	copy(loc, p.loc)
	return &fieldReader{loc: append(loc, key), parent: p}
}

func (p *fieldReader) add(typ, key, msg string) {
	loc := make([]any, len(p.loc), len(p.loc)+1)
	copy(loc, p.loc)
	r := p.root()
	r.problems = append(r.problems, problem{Type: typ, Loc: append(loc, key), Msg: msg})
}

// optString reads a string that may be missing or null.
func (p *fieldReader) optString(obj map[string]any, key string) (string, bool) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.add(typeStringType, key, key+" must be a string")
		return "", false
	}
	return s, true
}

func (p *fieldReader) reqNonEmptyString(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(typeStringType, key, key+" must be a string")
		return ""
	}
	if strings.TrimSpace(s) == "" {
		p.add(typeStringTooShort, key, key+" must not be empty")
	}
	return s
}

// optVersion reads a version, which some clients send as a number (1.0).
func (p *fieldReader) optVersion(obj map[string]any, key string) string {
	if n, ok := obj[key].(json.Number); ok {
		return n.String()
	}
	s, _ := p.optString(obj, key)
	return s
}

func (p *fieldReader) reqObject(obj map[string]any, key string) (map[string]any, bool) {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(typeDictType, key, key+" must be a JSON object")
		return nil, false
	}
	return m, true
}

func (p *fieldReader) reqUUID(obj map[string]any, key string) uuid.UUID {
	if v, ok := obj[key]; !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return uuid.UUID{}
	}
	u, _ := p.optUUID(obj, key)
	return u
}

func (p *fieldReader) optUUID(obj map[string]any, key string) (uuid.UUID, bool) {
	s, ok := p.optString(obj, key)
	if !ok {
		return uuid.UUID{}, false
	}
	return p.parseUUID(key, s)
}

// optUUIDIn reads a UUID from a metadata object (nil when there is none).
func (p *fieldReader) optUUIDIn(obj map[string]any, key string) (uuid.UUID, bool) {
	if obj == nil {
		return uuid.UUID{}, false
	}
	return p.optUUID(obj, key)
}

func (p *fieldReader) parseUUID(key, s string) (uuid.UUID, bool) {
	u, err := uuid.Parse(s)
	if err != nil {
		p.add(typeUUIDParsing, key, fmt.Sprintf("%s must be a UUID, got %q", key, truncate(s, 64)))
		return uuid.UUID{}, false
	}
	return u, true
}

var (
	jobTypeNames    = map[string]bool{"job": true, "batch": true, "lot": true}
	subjobTypeNames = map[string]bool{"subjob": true, "sub_job": true, "task": true, "step": true, "wafer": true}
)

// entityType normalises a type name or number to job or subjob. anyName
// lets the flat variants' other names (the Java client's) count as subjobs.
func (p *fieldReader) entityType(obj map[string]any, key string, anyName bool) (normalized, original string) {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return "", ""
	}
	switch t := v.(type) {
	case json.Number:
		switch t.String() {
		case "0":
			return semconv.EntityTypeJob, ""
		case "1":
			return semconv.EntityTypeSubjob, ""
		}
	case string:
		name := strings.ToLower(strings.TrimSpace(t))
		orig := ""
		if name != semconv.EntityTypeJob && name != semconv.EntityTypeSubjob {
			orig = t
		}
		switch {
		case jobTypeNames[name]:
			return semconv.EntityTypeJob, orig
		case subjobTypeNames[name], anyName && name != "":
			return semconv.EntityTypeSubjob, orig
		}
	}
	p.add(typeEnum, key, key+" must be 'job' or 'subjob' (or 0, 1, or a client type name such as JOB, LOT, BATCH, TASK, STEP, WAFER)")
	return "", ""
}

var eventKinds = [...]string{
	semconv.KindStarted, semconv.KindProgress, semconv.KindMetric,
	semconv.KindFinished, semconv.KindError, semconv.KindCanceled,
}

// eventKind normalises a kind name (any case) or number (0 to 5).
func (p *fieldReader) eventKind(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return ""
	}
	var name string
	switch t := v.(type) {
	case json.Number:
		name = t.String()
	case string:
		name = strings.ToLower(strings.TrimSpace(t))
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(eventKinds) {
		return eventKinds[i]
	}
	switch name {
	case "cancelled":
		return semconv.KindCanceled
	case "failed":
		return semconv.KindError
	}
	for _, k := range eventKinds {
		if name == k {
			return k
		}
	}
	p.add(typeEnum, key, key+" must be one of started, progress, metric, finished, error, canceled (or 0 to 5)")
	return ""
}

// status reads a status and maps the older clients' spellings.
func (p *fieldReader) status(obj map[string]any, key string) string {
	s, ok := p.optString(obj, key)
	if !ok {
		return ""
	}
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "success", "succeeded", "ok", "done", "completed":
		return semconv.StatusSucceeded
	case "error", "failed", "failure":
		return semconv.StatusFailed
	case "in_progress", "started", "running":
		return semconv.StatusRunning
	case "canceled", "cancelled":
		return semconv.StatusCanceled
	}
	return s
}

// defaultStatus fills in the status a kind implies when the client sent none.
func defaultStatus(status, kind string) string {
	if status != "" {
		return status
	}
	switch kind {
	case semconv.KindFinished:
		return semconv.StatusSucceeded
	case semconv.KindError:
		return semconv.StatusFailed
	case semconv.KindCanceled:
		return semconv.StatusCanceled
	}
	return semconv.StatusRunning
}

// maxEpochSeconds is the year 5138: anything larger is a milliseconds or
// nanoseconds timestamp sent where seconds are expected.
const maxEpochSeconds = 1e11

var timestampLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
}

var localTimestampLayouts = [...]string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// timestamp reads RFC 3339 (offset optional: UTC), or Unix epoch seconds as
// a number or numeric string. Missing or null: the receive time.
func (p *fieldReader) timestamp(obj map[string]any, key string, now time.Time) time.Time {
	v, ok := obj[key]
	if !ok || v == nil {
		return now
	}
	switch t := v.(type) {
	case json.Number:
		if ts, ok := epochSeconds(string(t)); ok {
			return ts
		}
	case string:
		s := strings.TrimSpace(t)
		if ts, ok := epochSeconds(s); ok {
			return ts
		}
		for _, layout := range timestampLayouts {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.UTC()
			}
		}
		for _, layout := range localTimestampLayouts {
			if ts, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return ts
			}
		}
	}
	p.add(typeDatetimeParsing, key, key+" must be an RFC 3339 timestamp (e.g. 2025-10-19T12:00:00Z) or Unix epoch seconds")
	return time.Time{}
}

func epochSeconds(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= maxEpochSeconds {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}

// metrics reads an object of numbers. duration_seconds (older clients) is
// taken as duration_s.
func (p *fieldReader) metrics(obj map[string]any, key string) []metricValue {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(typeDictType, key, key+" must be a JSON object of numbers")
		return nil
	}
	mp := p.sub(key)
	out := make([]metricValue, 0, len(m))
	_, hasDurationS := m[semconv.MetricKeyDurationS]
	for name, raw := range m {
		if raw == nil {
			continue
		}
		n, ok := raw.(json.Number)
		if !ok {
			mp.add(typeFloatType, name, fmt.Sprintf("metric %s must be a number", name))
			continue
		}
		f, err := n.Float64()
		if err != nil {
			mp.add(typeFloatType, name, fmt.Sprintf("metric %s is out of range", name))
			continue
		}
		if name == "duration_seconds" {
			if hasDurationS {
				continue
			}
			name = semconv.MetricKeyDurationS
		}
		out = append(out, metricValue{Name: name, Value: f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (p *fieldReader) metadata(obj map[string]any, key string) map[string]any {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(typeDictType, key, key+" must be a JSON object")
		return nil
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// decode parses and validates a body. A batch is all or nothing: every bad
// item is reported, and none is accepted.
func (r *wafermonitorReceiver) decode(raw []byte, now time.Time, batch bool) ([]event, int, any) {
	if len(raw) > precountBytes {
		if n, ok := countBatchItems(raw, r.cfg.MaxBatchEvents); ok && n > r.cfg.MaxBatchEvents {
			r.reject(context.Background(), "too_large", n)
			return nil, http.StatusRequestEntityTooLarge, problems{Detail: []problem{{Type: "too_large", Loc: []any{"body"},
				Msg: fmt.Sprintf("more than %d events in one batch (max_batch_events)", r.cfg.MaxBatchEvents)}}}
		}
	}
	v, perr := parseJSON(raw)
	if perr != nil {
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	d := decoder{now: now}
	_, isArray := v.([]any)
	obj, isObject := v.(map[string]any)
	_, hasEvents := obj["events"]
	wrapped := isObject && hasEvents
	if !batch && !isArray && !wrapped {
		e, probs := d.decodeEvent(v, []any{"body"})
		if probs != nil {
			r.reject(context.Background(), "invalid", 1)
			return nil, http.StatusUnprocessableEntity, problems{Detail: probs}
		}
		return []event{e}, 0, nil
	}
	items, perr := batchItems(v)
	if perr != nil {
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	if len(items) > r.cfg.MaxBatchEvents {
		r.reject(context.Background(), "too_large", len(items))
		return nil, http.StatusRequestEntityTooLarge, problems{Detail: []problem{{Type: "too_large", Loc: []any{"body"},
			Msg: fmt.Sprintf("%d events in one batch; at most %d are allowed (max_batch_events)", len(items), r.cfg.MaxBatchEvents)}}}
	}
	events := make([]event, 0, len(items))
	var all []problem
	for i, item := range items {
		e, probs := d.decodeEvent(item, []any{"body", i})
		if probs != nil {
			all = append(all, probs...)
			continue
		}
		events = append(events, e)
	}
	if len(all) > 0 {
		r.reject(context.Background(), "invalid", len(items))
		return nil, http.StatusUnprocessableEntity, problems{Detail: all}
	}
	return events, 0, nil
}
