package v1event

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestFieldsMirrorEvent: the field names the receiver reads are exactly the
// JSON names of the types the SDK and the webhook exporter write.
func TestFieldsMirrorEvent(t *testing.T) {
	var tags []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			tags = append(tags, name)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Event]())
	canonical := []string{
		FieldIdempotencyKey, FieldSiteID, FieldApp, FieldAppID, FieldAppName, FieldAppVersion,
		FieldEntity, FieldEntityType, FieldEntityID, FieldParentID, FieldBusinessKey, FieldSubKey,
		FieldEvent, FieldKind, FieldAt, FieldStatus, FieldMetrics, FieldMetadata,
	}
	slices.Sort(tags)
	slices.Sort(canonical)
	if !slices.Equal(tags, canonical) {
		t.Fatalf("Event's JSON names %v, the Field constants %v", tags, canonical)
	}
}

// TestFlatNames: every flat field is looked up as snake_case first, and its
// camelCase spelling follows it.
func TestFlatNames(t *testing.T) {
	for _, f := range flatFields() {
		snake := f[0]
		if strings.ToLower(snake) != snake {
			t.Errorf("%v: the first name is not snake_case", f)
		}
		if camel := lowerCamel(snake); camel != snake && !slices.Contains(f, camel) {
			t.Errorf("%v: no camelCase %s", f, camel)
		}
	}
	names := FieldNames()
	for _, f := range FlatMarkers {
		for _, n := range f {
			if !slices.Contains(names, n) {
				t.Errorf("marker %s is not a field name", n)
			}
		}
	}
}

func lowerCamel(snake string) string {
	var b strings.Builder
	up := false
	for _, r := range snake {
		switch {
		case r == '_':
			up = true
		case up:
			b.WriteRune(unicode.ToUpper(r))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
