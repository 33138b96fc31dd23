package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// decoder makes the events of one request, from its body (decodeDirect) or
// from its decoded JSON objects (decodeEvent). now is the receive time.
type decoder struct {
	now time.Time
	// recent are the last strings the direct path read for each field
	// (see sentValue): the top-level fields by flatFields' index, then
	// the fields of app, entity and event (recentParts).
	recent [recentParts + 15]string
}

// recentParts is where the fields of app, entity and event start in
// decoder.recent.
const recentParts = 16

// sentFields are an event's values as the client sent them, wherever its
// shape (canonical or flat) put them.
type sentFields struct {
	idempotencyKey, siteID         string
	appID, appName, appVersion     sentValue
	entityType, entityID, parentID sentValue
	businessKey, subKey            sentValue
	kind, at, status               sentValue
	metrics, metadata              any
	// metricList are the metrics when the direct path read them itself
	// (metricsRead), metrics then being nil.
	metricList  []metricValue
	metricsRead bool
}

// decodeEvent reads one event object found at loc (["body"] or
// ["body", i]). Only what the old sidecar refused too is a problem: the
// rest is interpreted where possible and kept where not.
func (d *decoder) decodeEvent(v any, loc []any) (event, []problem) {
	obj, ok := v.(map[string]any)
	if !ok {
		return event{}, []problem{{Type: typeDictType, Loc: loc, Msg: "an event must be a JSON object"}}
	}
	p := &fieldReader{loc: loc}
	var f sentFields
	if isFlat(obj) {
		f = readFlat(obj, p)
	} else {
		f = readCanonical(obj, p)
	}
	if len(p.problems) > 0 {
		return event{}, p.problems
	}
	e, _ := d.eventOf(&f, obj)
	return e, nil
}

// eventOf normalizes an event's fields and gives it a key and an id when
// it was sent without. obj is the event's object, whose digest is the key
// of an event sent with neither key nor id; without it (nil), such an
// event is not made and ok is false.
func (d *decoder) eventOf(f *sentFields, obj map[string]any) (e event, ok bool) {
	e = d.normalize(f)
	if e.EntityID == (uuid.UUID{}) {
		// No id at all: the event is an entity of its own, named by its key.
		if e.IdempotencyKey == "" {
			if obj == nil {
				return event{}, false
			}
			e.IdempotencyKey = contentKey(obj)
		}
		e.EntityID = uuid.UUID(ids.FromName(e.IdempotencyKey))
	}
	if e.IdempotencyKey == "" {
		e.IdempotencyKey = boundKey(derivedKey(&e))
	}
	return e, true
}

// isFlat tells the older clients' flat objects from the nested canonical form.
func isFlat(obj map[string]any) bool {
	if _, ok := obj[v1event.FieldEntity]; ok {
		return false
	}
	if _, ok := obj[v1event.FieldEvent]; ok {
		return false
	}
	for _, names := range v1event.FlatMarkers {
		for _, k := range names {
			if _, ok := obj[k]; ok {
				return true
			}
		}
	}
	return false
}

func readCanonical(obj map[string]any, p *fieldReader) sentFields {
	f := sentFields{
		idempotencyKey: p.optString(obj, v1event.FieldIdempotencyKey),
		siteID:         p.reqString(obj, v1event.FieldSiteID),
	}
	app := p.reqObject(obj, v1event.FieldApp)
	ent := p.reqObject(obj, v1event.FieldEntity)
	ev := p.reqObject(obj, v1event.FieldEvent)
	f.appID, f.appName, f.appVersion = sentValueOf(app[v1event.FieldAppID]), sentValueOf(app[v1event.FieldAppName]), sentValueOf(app[v1event.FieldAppVersion])
	f.entityType, f.entityID, f.parentID = sentValueOf(ent[v1event.FieldEntityType]), sentValueOf(ent[v1event.FieldEntityID]), sentValueOf(ent[v1event.FieldParentID])
	f.businessKey, f.subKey = sentValueOf(ent[v1event.FieldBusinessKey]), sentValueOf(ent[v1event.FieldSubKey])
	f.kind, f.at, f.status = sentValueOf(ev[v1event.FieldKind]), sentValueOf(ev[v1event.FieldAt]), sentValueOf(ev[v1event.FieldStatus])
	f.metrics, f.metadata = ev[v1event.FieldMetrics], ev[v1event.FieldMetadata]
	return f
}

func readFlat(obj map[string]any, p *fieldReader) sentFields {
	return sentFields{
		idempotencyKey: p.optString(obj, pickKey(obj, v1event.FlatIdempotencyKey)),
		siteID:         p.reqString(obj, pickKey(obj, v1event.FlatSiteID)),
		appID:          sentValueOf(pick(obj, v1event.FlatAppID)),
		appName:        sentValueOf(pick(obj, v1event.FlatAppName)),
		appVersion:     sentValueOf(pick(obj, v1event.FlatAppVersion)),
		entityType:     sentValueOf(pick(obj, v1event.FlatEntityType)),
		entityID:       sentValueOf(pick(obj, v1event.FlatEntityID)),
		parentID:       sentValueOf(pick(obj, v1event.FlatParentID)),
		businessKey:    sentValueOf(pick(obj, v1event.FlatBusinessKey)),
		subKey:         sentValueOf(pick(obj, v1event.FlatSubKey)),
		kind:           sentValueOf(pick(obj, v1event.FlatEventKind)),
		at:             sentValueOf(pick(obj, v1event.FlatTimestamp)),
		status:         sentValueOf(pick(obj, v1event.FlatStatus)),
		metrics:        pick(obj, v1event.FlatMetrics),
		metadata:       pick(obj, v1event.FlatMetadata),
	}
}

// normalize interprets the values below the top level; none of them is
// refused.
func (d *decoder) normalize(f *sentFields) event {
	e := event{IdempotencyKey: boundKey(f.idempotencyKey), SiteID: bound(f.siteID)}
	if id, canonical, orig, ok := entityID(f.appID); ok {
		if canonical == "" {
			canonical = id.String()
		}
		e.AppID, e.AppIDOriginal = canonical, orig
	}
	e.AppName = boundedText(f.appName)
	e.AppVersion = boundedText(f.appVersion)
	e.Metadata, e.MetadataOther = metadataOf(f.metadata)
	e.ParentID, e.parentIDText, e.ParentIDOriginal, e.HasParent = entityID(f.parentID)
	if !e.HasParent && e.Metadata != nil {
		e.ParentID, e.parentIDText, e.ParentIDOriginal, e.HasParent = entityID(sentValueOf(e.Metadata[v1event.MetadataParentJobID]))
	}
	e.EntityType, e.EntityTypeOriginal = entityType(f.entityType, e.HasParent)
	e.EntityID, e.entityIDText, e.EntityIDOriginal, _ = entityID(f.entityID)
	e.BusinessKey = boundedText(f.businessKey)
	e.SubKey = boundedText(f.subKey)
	e.Kind, e.KindOriginal = eventKind(f.kind)
	e.At, e.AtOriginal = eventTime(f.at, d.now)
	e.Status = status(f.status, e.Kind)
	if f.metricsRead {
		e.Metrics = f.metricList
	} else {
		e.Metrics, e.MetricsUnparsed = metricValues(f.metrics)
	}
	duration, _ := e.metric(semconv.MetricKeyDurationS)
	e.Start = spanStart(e.At, duration)
	return e
}

func boundedText(v sentValue) string {
	s, _ := v.asText()
	return bound(s)
}

// derivedKey is the idempotency key of an event sent without one, from
// what identifies it, so that a client retrying it is still deduplicated:
// entity id, kind and time (the client's own kind and time when the
// receiver could not use them).
func derivedKey(e *event) string {
	kind := e.Kind
	if e.KindOriginal != "" {
		kind = e.KindOriginal
	}
	return entity.DerivedKey(e.idText(), kind, e.At, e.AtOriginal)
}

// contentKey is the idempotency key of an event sent with neither a key
// nor an entity id: the SHA-256 of its content (encoding/json writes object
// keys sorted, so the same event always gives the same key).
func contentKey(obj map[string]any) string {
	b, _ := json.Marshal(obj)
	sum := sha256.Sum256(b)
	return "derived:sha256:" + hex.EncodeToString(sum[:])
}
