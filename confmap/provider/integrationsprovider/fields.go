package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fields reads the config keys of one entry. It collects every problem,
// each naming the key, and remembers the keys it read so that the others
// can be reported.
type fields struct {
	config map[string]json.RawMessage
	env    func(string) (string, bool)
	read   map[string]bool
	bad    map[string]bool
	errs   []error
}

func newFields(e *entry, env func(string) (string, bool)) *fields {
	return &fields{config: e.config, env: env, read: map[string]bool{}, bad: map[string]bool{}}
}

func (f *fields) fail(key, format string, args ...any) {
	f.bad[key] = true
	f.errs = append(f.errs, fmt.Errorf("config.%s: %s", key, fmt.Sprintf(format, args...)))
}

// raw returns a key's value; null counts as not set.
func (f *fields) raw(key string) (json.RawMessage, bool) {
	f.read[key] = true
	v, ok := f.config[key]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// str returns a string value as written, numbers and booleans as their
// JSON text.
func (f *fields) str(key string) (string, bool) {
	v, ok := f.raw(key)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	if k := jsonKind(v); k == "a number" || k == "a boolean" {
		return string(v), true
	}
	f.fail(key, "must be a string, got %s", jsonKind(v))
	return "", false
}

// text returns a string value for the collector's configuration, its
// ${VAR} placeholders as the collector's ${env:VAR} (resolved when the
// configuration is), any other $ kept as it is. For values passed through,
// secrets above all: they are not written out resolved.
func (f *fields) text(key string) (string, bool) {
	s, ok := f.str(key)
	if !ok {
		return "", false
	}
	return toCollector(s), true
}

// resolved returns a string value with its placeholders replaced from the
// environment, for values the translation reads: URLs, addresses, host
// names, directories.
func (f *fields) resolved(key string) (string, bool) {
	s, ok := f.str(key)
	if !ok {
		return "", false
	}
	out, err := resolve(s, f.env)
	if err != nil {
		f.fail(key, "%v", err)
		return "", false
	}
	return out, true
}

// required reports a key that is missing or empty, unless reading it
// failed already.
func (f *fields) required(key, v string, what string) string {
	if strings.TrimSpace(v) == "" {
		if !f.bad[key] {
			f.fail(key, "missing: %s", what)
		}
		return ""
	}
	return v
}

// seconds reads a number of seconds (a number or a numeric string).
func (f *fields) seconds(key string, def time.Duration) time.Duration {
	s, ok := f.resolved(key)
	if !ok {
		return def
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(sec) || sec < 0.001 || sec > 24*3600 {
		f.fail(key, "must be a number of seconds from 0.001 to 86400, got %s", s)
		return def
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
}

// boolean reads true or false (or the strings "true" and "false").
func (f *fields) boolean(key string, def bool) bool {
	v, ok := f.raw(key)
	if !ok {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		f.fail(key, "must be true or false, got %s", v)
		return def
	}
	return b
}

// choice reads one of allowed (case-insensitive), or def when not set.
func (f *fields) choice(key, def string, allowed ...string) string {
	s, ok := f.resolved(key)
	if !ok {
		return def
	}
	v := strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(allowed, v) {
		f.fail(key, "must be one of %s, got %q", strings.Join(allowed, ", "), s)
		return def
	}
	return v
}

// textMap reads an object of strings, for headers.
func (f *fields) textMap(key string) map[string]any {
	v, ok := f.raw(key)
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		f.fail(key, "must be an object of names to strings, got %s", jsonKind(v))
		return nil
	}
	out := make(map[string]any, len(m))
	for name, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			f.fail(key+"."+name, "must be a string, got %s", jsonKind(raw))
			continue
		}
		out[name] = toCollector(s)
	}
	return out
}

// httpURL reads a required http:// or https:// URL.
func (f *fields) httpURL(key, what string) string {
	s, _ := f.resolved(key)
	s = f.required(key, strings.TrimSpace(s), what)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.fail(key, "%q is not an http:// or https:// URL (%s)", s, what)
		return ""
	}
	return s
}

// unread lists the keys of the config that were not read.
func (f *fields) unread() []string {
	var keys []string
	for k := range f.config {
		if !f.read[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// placeholder is the old sidecar's ${VAR}, with the collector's default
// form ${VAR:-default} as well.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// toCollector rewrites ${VAR} as ${env:VAR} and doubles every other $, so
// that the collector resolves the placeholders and nothing else.
func toCollector(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(strings.ReplaceAll(s[last:m[0]], "$", "$$"))
		b.WriteString("${env:" + s[m[2]:m[3]])
		if m[4] >= 0 {
			b.WriteString(":-" + strings.ReplaceAll(s[m[4]:m[5]], "$", "$$"))
		}
		b.WriteString("}")
		last = m[1]
	}
	b.WriteString(strings.ReplaceAll(s[last:], "$", "$$"))
	return b.String()
}

// resolve replaces placeholders from the environment; a variable that is
// not set and has no default is an error.
func resolve(s string, env func(string) (string, bool)) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		m := placeholder.FindStringSubmatch(p)
		if v, ok := env(m[1]); ok && v != "" {
			return v
		}
		if strings.Contains(p, ":-") {
			return m[2]
		}
		missing = append(missing, m[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("the environment variable %s that %q names is not set", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// literal escapes a resolved value for the collector's configuration,
// which would otherwise read ${...} in it again.
func literal(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

// ottlString quotes s as an OTTL string literal.
func ottlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
