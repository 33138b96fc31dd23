package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"encoding/json"
)

// problem is one entry of a 422 answer's "detail" list.
type problem struct {
	Type string `json:"type"`
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
}

// Problem types, as the v1 API names them. They are all that is refused:
// what the old sidecar refused too (a body that is not JSON, a missing or
// wrongly typed site_id, app, entity or event, an idempotency_key that is
// not a string) and the limits on hostile input.
const (
	typeJSONInvalid = "json_invalid"
	typeMissing     = "missing"
	typeStringType  = "string_type"
	typeDictType    = "dict_type"
	typeListType    = "list_type"
	typeTooLarge    = "too_large"
)

// fieldReader reads the fields an event cannot do without and collects a
// problem for each one that is missing or of the wrong type.
type fieldReader struct {
	loc      []any
	problems []problem
}

func (p *fieldReader) add(typ, key, msg string) {
	loc := make([]any, len(p.loc), len(p.loc)+1)
	copy(loc, p.loc)
	p.problems = append(p.problems, problem{Type: typ, Loc: append(loc, key), Msg: msg})
}

// reqString reads a string that must be present.
func (p *fieldReader) reqString(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(typeStringType, key, key+" must be a string")
	}
	return s
}

// optString reads a string that may be missing or null.
func (p *fieldReader) optString(obj map[string]any, key string) string {
	v, ok := obj[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(typeStringType, key, key+" must be a string")
	}
	return s
}

// reqObject reads an object that must be present.
func (p *fieldReader) reqObject(obj map[string]any, key string) map[string]any {
	v, ok := obj[key]
	if !ok || v == nil {
		p.add(typeMissing, key, key+" is required")
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(typeDictType, key, key+" must be a JSON object")
	}
	return m
}

// text is a value below the top level taken as a string, whatever its
// JSON type: a string as it is, a number as written, true or false, an
// object or a list as compact JSON. ok is false for null and absence.
func text(v any) (s string, ok bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case json.Number:
		return string(t), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// pick returns the value of the first of names present in obj.
func pick(obj map[string]any, names []string) any {
	for _, n := range names {
		if v, ok := obj[n]; ok {
			return v
		}
	}
	return nil
}

// pickKey returns the first of names present in obj (the first name when
// none is), to read it and to name it in a problem.
func pickKey(obj map[string]any, names []string) string {
	for _, n := range names {
		if _, ok := obj[n]; ok {
			return n
		}
	}
	return names[0]
}
