package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Placeholders of the host and job name templates. {attr:NAME} takes any
// attribute, from the record (or span, or data point) first, then from the
// resource.
var placeholders = map[string]string{
	"site":         semconv.AttrSiteID,
	"app":          semconv.AttrServiceName,
	"app_id":       semconv.AttrAppID,
	"app_version":  semconv.AttrServiceVersion,
	"business_key": semconv.AttrBusinessKey,
	"sub_key":      semconv.AttrSubKey,
	"entity_type":  semconv.AttrEntityType,
}

const attrPlaceholder = "attr:"

// nameTemplate is a parsed name template: literal text and attribute
// references, alternating.
type nameTemplate struct {
	parts []templatePart
}

type templatePart struct {
	literal string
	attr    string
}

func parseNameTemplate(s string) (nameTemplate, error) {
	var t nameTemplate
	if strings.TrimSpace(s) == "" {
		return t, errors.New("the template is empty")
	}
	rest := s
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			t.parts = append(t.parts, templatePart{literal: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{literal: rest[:open]})
		}
		closing := strings.IndexByte(rest[open:], '}')
		if closing < 0 {
			return t, fmt.Errorf("%q: unclosed {", s)
		}
		name := rest[open+1 : open+closing]
		attr, ok := placeholders[name]
		switch {
		case ok:
		case strings.HasPrefix(name, attrPlaceholder) && len(name) > len(attrPlaceholder):
			attr = name[len(attrPlaceholder):]
		default:
			return t, fmt.Errorf("%q: unknown placeholder {%s}; use {site}, {app}, {app_id}, {app_version}, {business_key}, {sub_key}, {entity_type} or {attr:NAME}", s, name)
		}
		t.parts = append(t.parts, templatePart{attr: attr})
		rest = rest[open+closing+1:]
	}
	return t, nil
}

// render fills the template from attrs, then res; a missing attribute is
// empty.
func (t nameTemplate) render(attrs, res pcommon.Map) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.attr == "" {
			b.WriteString(p.literal)
			continue
		}
		if v, ok := attrs.Get(p.attr); ok {
			b.WriteString(v.AsString())
		} else if v, ok := res.Get(p.attr); ok {
			b.WriteString(v.AsString())
		}
	}
	return b.String()
}

// hostName makes s a valid Zabbix host name: letters, digits, spaces, dots,
// dashes and underscores; anything else becomes an underscore.
func hostName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// keyParam makes s safe inside a quoted item key parameter, where Zabbix
// puts the discovered {#MACRO} value as is: no double quotes or
// backslashes, no control characters.
func keyParam(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}
