package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// decodeDirect reads the events of a body that every client sends
// straight into sentFields, without an object map for each event and its
// app, entity and event parts (the generic path, decodeGeneric, builds
// them and then picks fields out). ok is false for everything it does not
// read exactly as the generic path would, which then decodes the body
// again and names every problem: a body that is not JSON, a batch over
// limit, a top-level key that is not an event's, a repeated app, entity or
// event, a missing or wrongly typed field, an event with neither key nor
// id (its key is a digest of the whole object). FuzzDirectDecode checks
// that both paths give the same events for every body they both take.
func (d *decoder) decodeDirect(body []byte, limit int) ([]event, bool) {
	p := jsonParser{b: body, limit: limit}
	p.skipSpace()
	if p.i >= len(p.b) {
		return nil, false
	}
	var events []event
	ok := false
	switch p.b[p.i] {
	case '[':
		events, ok = d.directArray(&p, 1)
	case '{':
		events, ok = d.directObject(&p)
	}
	if !ok {
		return nil, false
	}
	p.skipSpace()
	return events, p.i == len(p.b)
}

// directObject reads a top-level object: {"events": [...]} alone, or one
// event.
func (d *decoder) directObject(p *jsonParser) ([]event, bool) {
	start := p.i
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '"' {
		key, ok := p.text()
		if ok && string(key) == v1event.FieldEvents {
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, false
			}
			p.i++
			p.skipSpace()
			if p.i >= len(p.b) || p.b[p.i] != '[' {
				return nil, false
			}
			events, ok := d.directArray(p, 2)
			if !ok {
				return nil, false
			}
			end, ok := p.separator('}')
			return events, ok && end
		}
	}
	p.i = start
	e, ok := d.directEvent(p, 1)
	if !ok {
		return nil, false
	}
	return []event{e}, true
}

// directArray reads an array of events at depth, at most p.limit of them.
func (d *decoder) directArray(p *jsonParser, depth int) ([]event, bool) {
	p.i++ // [
	// A compact event takes some 400 bytes of JSON.
	events := make([]event, 0, min(p.limit, len(p.b)/400+1))
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return events, true
	}
	for {
		if len(events) == p.limit || p.i >= len(p.b) || p.b[p.i] != '{' {
			return nil, false
		}
		e, ok := d.directEvent(p, depth+1)
		if !ok {
			return nil, false
		}
		events = append(events, e)
		if end, ok := p.separator(']'); !ok || end {
			return events, ok
		}
	}
}

// The canonical form's parts, where a top-level key of an event goes when
// it is not one of the flat fields (topSlot.field, an index of flatFields).
const (
	slotApp = iota + 64
	slotEntity
	slotEvent
)

// flatFields are the fields of the flat form, in the order of sentFields
// (v1event's own list is not exported); a field is read from the first of
// its names present (pick).
var flatFields = [...]v1event.Flat{
	v1event.FlatIdempotencyKey, v1event.FlatSiteID, v1event.FlatAppID, v1event.FlatAppName, v1event.FlatAppVersion,
	v1event.FlatEntityType, v1event.FlatEntityID, v1event.FlatParentID, v1event.FlatBusinessKey, v1event.FlatSubKey,
	v1event.FlatEventKind, v1event.FlatTimestamp, v1event.FlatStatus, v1event.FlatMetrics, v1event.FlatMetadata,
}

// Indexes of flatFields.
const (
	flatIdempotencyKey = iota
	flatSiteID
	flatAppID
	flatAppName
	flatAppVersion
	flatEntityType
	flatEntityID
	flatParentID
	flatBusinessKey
	flatSubKey
	flatEventKind
	flatTimestamp
	flatStatus
	flatMetrics
	flatMetadata
	flatCount
)

// maxFlatNames is the most names a flat field has.
const maxFlatNames = 4

type topSlot struct{ field, name uint8 }

// topSlots are the top-level keys an event may have.
var topSlots = func() map[string]topSlot {
	m := map[string]topSlot{
		v1event.FieldApp:    {field: slotApp},
		v1event.FieldEntity: {field: slotEntity},
		v1event.FieldEvent:  {field: slotEvent},
	}
	for i, names := range flatFields {
		for j, n := range names {
			m[n] = topSlot{field: uint8(i), name: uint8(j)}
		}
	}
	return m
}()

// topValues are an event's top-level values by flat field and name: the
// object map that the generic path builds, without the map.
type topValues struct {
	v       [flatCount][maxFlatNames]sentValue
	present [flatCount][maxFlatNames]bool
	parts   [3]bool // app, entity, event
}

// pick is the value of the first of field's names present, and whether
// one is: pick and pickKey of the generic path.
func (t *topValues) pick(field int) (sentValue, bool) {
	for j := range t.present[field] {
		if t.present[field][j] {
			return t.v[field][j], true
		}
	}
	return sentValue{}, false
}

// isFlat is isFlat of the generic path.
func (t *topValues) isFlat() bool {
	if t.parts[1] || t.parts[2] {
		return false
	}
	for _, f := range [...]int{flatEntityID, flatEntityType, flatEventKind} {
		if _, ok := t.pick(f); ok {
			return true
		}
	}
	return false
}

// directEvent reads one event object at depth.
func (d *decoder) directEvent(p *jsonParser, depth int) (event, bool) {
	var top topValues
	var f sentFields
	ok := p.members(depth, func(key []byte) bool {
		slot, known := topSlots[string(key)]
		switch {
		case !known:
			return false
		case slot.field >= slotApp:
			part := slot.field - slotApp
			if top.parts[part] || p.b[p.i] != '{' {
				return false
			}
			top.parts[part] = true
			return d.directPart(p, depth+1, part, &f)
		}
		v, ok := p.sentValue(depth, &d.recent[slot.field])
		top.v[slot.field][slot.name], top.present[slot.field][slot.name] = v, true
		return ok
	})
	if !ok {
		return event{}, false
	}
	var key, site sentValue
	if top.isFlat() {
		key, _ = top.pick(flatIdempotencyKey)
		site, _ = top.pick(flatSiteID)
		f.appID, _ = top.pick(flatAppID)
		f.appName, _ = top.pick(flatAppName)
		f.appVersion, _ = top.pick(flatAppVersion)
		f.entityType, _ = top.pick(flatEntityType)
		f.entityID, _ = top.pick(flatEntityID)
		f.parentID, _ = top.pick(flatParentID)
		f.businessKey, _ = top.pick(flatBusinessKey)
		f.subKey, _ = top.pick(flatSubKey)
		f.kind, _ = top.pick(flatEventKind)
		f.at, _ = top.pick(flatTimestamp)
		f.status, _ = top.pick(flatStatus)
		metrics, _ := top.pick(flatMetrics)
		metadata, _ := top.pick(flatMetadata)
		f.metrics, f.metadata = metrics.generic(), metadata.generic()
	} else {
		if top.parts != [3]bool{true, true, true} {
			return event{}, false
		}
		key, site = top.v[flatIdempotencyKey][0], top.v[flatSiteID][0]
	}
	// The generic path's optString and reqString, a problem sending the
	// body there.
	if (key.kind != sentString && key.kind != sentNone) || site.kind != sentString {
		return event{}, false
	}
	f.idempotencyKey, f.siteID = key.text, site.text
	return d.eventOf(&f, nil)
}

// directPart reads the app, entity or event object of a canonical event
// into f; the keys it does not read are checked and skipped, as the
// generic path ignores them.
func (d *decoder) directPart(p *jsonParser, depth int, part uint8, f *sentFields) bool {
	var fields [5]*sentValue
	switch part {
	case 0:
		fields = [5]*sentValue{&f.appID, &f.appName, &f.appVersion}
	case 1:
		fields = [5]*sentValue{&f.entityType, &f.entityID, &f.parentID, &f.businessKey, &f.subKey}
	case 2:
		fields = [5]*sentValue{&f.kind, &f.at, &f.status}
		f.metrics, f.metadata, f.metricList, f.metricsRead = nil, nil, nil, false
	}
	for _, v := range fields {
		if v != nil {
			*v = sentValue{}
		}
	}
	return p.members(depth, func(key []byte) bool {
		i := partField(part, string(key))
		switch {
		case i < 0:
			_, ok := p.value(depth, false)
			return ok
		case fields[i] != nil:
			v, ok := p.sentValue(depth, &d.recent[recentParts+int(part)*5+i])
			*fields[i] = v
			return ok
		case i == 3: // metrics
			if values, ok := p.directMetrics(depth + 1); ok {
				f.metrics, f.metricList, f.metricsRead = nil, values, true
				return true
			}
			v, ok := p.value(depth, false)
			f.metrics, f.metricList, f.metricsRead = v, nil, false
			return ok
		}
		if p.emptyObject() { // metadata: {} is no metadata (metadataOf)
			f.metadata = nil
			return true
		}
		v, ok := p.value(depth, false)
		f.metadata = v
		return ok
	})
}

// partField is the index of key among the fields read from part (app,
// entity, event), or -1.
func partField(part uint8, key string) int {
	var names [5]string
	switch part {
	case 0:
		names = [5]string{v1event.FieldAppID, v1event.FieldAppName, v1event.FieldAppVersion}
	case 1:
		names = [5]string{v1event.FieldEntityType, v1event.FieldEntityID, v1event.FieldParentID, v1event.FieldBusinessKey, v1event.FieldSubKey}
	case 2:
		names = [5]string{v1event.FieldKind, v1event.FieldAt, v1event.FieldStatus, v1event.FieldMetrics, v1event.FieldMetadata}
	}
	for i, n := range names {
		if n != "" && n == key {
			return i
		}
	}
	return -1
}

// members reads an object at depth whose opening brace is at p.i, calling
// member with each key, p.i then at the key's value, which member reads.
// It checks the grammar as object does.
func (p *jsonParser) members(depth int, member func(key []byte) bool) bool {
	if depth > maxJSONDepth {
		return false
	}
	p.i++ // {
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return true
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return false
		}
		key, ok := p.text()
		if !ok {
			return false
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return false
		}
		p.i++
		p.skipSpace()
		if p.i >= len(p.b) || !member(key) {
			return false
		}
		if end, ok := p.separator('}'); !ok || end {
			return ok
		}
	}
}

// emptyObject reads {} (spaces allowed inside) at p.i, if that is what is
// there.
func (p *jsonParser) emptyObject() bool {
	if p.b[p.i] != '{' {
		return false
	}
	i := p.i + 1
	for i < len(p.b) && (p.b[i] == ' ' || p.b[i] == '\t' || p.b[i] == '\n' || p.b[i] == '\r') {
		i++
	}
	if i < len(p.b) && p.b[i] == '}' {
		p.i = i + 1
		return true
	}
	return false
}
