package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/confmap/converter/integrationsconverter"
)

// Signals of the pipelines that the integrations are added to.
const (
	signalLogs    = "logs"
	signalTraces  = "traces"
	signalMetrics = "metrics"
)

// mapper turns one entry into components of the configuration.
type mapper func(t *translator, e *entry, name string, f *fields)

var mappers = map[string]mapper{
	typeLocalAPI:      mapLocalAPI,
	typeWebhook:       mapWebhook,
	typeCSV:           mapCSV,
	typeJSON:          mapJSON,
	typeZabbix:        mapZabbix,
	typeELK:           mapELK,
	typeAWSCloudWatch: mapAWSCloudWatch,
	typeAWSXRay:       mapAWSXRay,
}

// translator builds the collector configuration of a list of integrations.
type translator struct {
	logger *zap.Logger
	// source names the list in every log line. Not logger.With: the
	// collector buffers the providers' logs until its own logger exists,
	// and its buffer drops what child loggers write (otelcol v0.142.0).
	source zap.Field
	strict bool
	env    func(string) (string, bool)
	out    output
	names  map[string]bool
}

func translate(entries []*entry, source string, logger *zap.Logger, strict bool, env func(string) (string, bool)) (map[string]any, error) {
	t := &translator{logger: logger, source: zap.String("integrations", source), strict: strict, env: env, out: output{}, names: map[string]bool{}}
	var errs []error
	for _, e := range entries {
		if err := t.entry(e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t.out, nil
}

func (t *translator) entry(e *entry) error {
	if !e.enabled {
		t.logger.Info("Integration disabled (enabled: false): skipped", zap.String("integration", e.String()), t.source)
		return nil
	}
	var errs []error
	if len(e.unknown) > 0 {
		if err := t.unknown(e, "", e.unknown); err != nil {
			errs = append(errs, err)
		}
	}
	m, ok := mappers[e.typ]
	if !ok {
		msg := fmt.Sprintf("type: unknown type %q; the types are %s", e.typ, strings.Join(knownTypes, ", "))
		if t.strict {
			return fmt.Errorf("%s: %s (strict)", e, msg)
		}
		t.logger.Warn("Integration of an unknown type skipped, as the old sidecar did; integrations:strict: makes this an error",
			zap.String("integration", e.String()), zap.String("type", e.typ), t.source)
		return errors.Join(errs...)
	}
	f := newFields(e, t.env)
	m(t, e, t.uniqueName(e), f)
	errs = append(errs, f.errs...)
	if unread := f.unread(); len(unread) > 0 {
		if err := t.unknown(e, "config.", unread); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", e, errors.Join(errs...))
	}
	return nil
}

// unknown reports keys the old format does not have: a warning, or an
// error in strict mode.
func (t *translator) unknown(e *entry, prefix string, keys []string) error {
	for i := range keys {
		keys[i] = prefix + keys[i]
	}
	if t.strict {
		return fmt.Errorf("unknown keys %s (strict)", strings.Join(keys, ", "))
	}
	t.logger.Warn("Integration keys the old format does not have are ignored; integrations:strict: makes this an error",
		zap.String("integration", e.String()), zap.Strings("keys", keys), t.source)
	return nil
}

// note logs how a key that has no equivalent in the collector is handled.
func (t *translator) note(e *entry, key, what string) {
	t.logger.Warn("Integration setting without an equivalent", zap.String("integration", e.String()),
		zap.String("key", "config."+key), zap.String("handling", what), t.source)
}

var nameChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// uniqueName is the entry's name as a component name: characters other
// than letters, digits, '_', '.' and '-' become '_', and a name already
// used gets _2, _3, ...
func (t *translator) uniqueName(e *entry) string {
	base := strings.Trim(nameChars.ReplaceAllString(e.name, "_"), "_")
	if base == "" {
		base = "unnamed"
	}
	name := base
	for i := 2; t.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	t.names[name] = true
	if name != e.name {
		t.logger.Info("Integration name changed to a component name", zap.String("integration", e.String()), zap.String("component_name", name), t.source)
	}
	return name
}

// addExporter puts an exporter into the configuration.
func (t *translator) addExporter(id string, cfg map[string]any) {
	t.out.set(cfg, "exporters", id)
}

// attach adds a component (an exporter or connector) to the default
// pipelines of the signals: the converter appends it to their exporters.
func (t *translator) attach(id string, signals ...string) {
	list := make([]any, len(signals))
	for i, s := range signals {
		list[i] = s
	}
	t.out.set(list, integrationsconverter.Key, integrationsconverter.AddToPipelines, id)
	t.logger.Info("Integration added", zap.String("component", id), zap.Strings("pipelines", signals), t.source)
}

// logAttached logs what a template adds to the default pipelines.
func (t *translator) logAttached(conf output) {
	top, _ := conf[integrationsconverter.Key].(map[string]any)
	add, _ := top[integrationsconverter.AddToPipelines].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(add)) {
		t.logger.Info("Integration added", zap.String("component", id), zap.Any("pipelines", add[id]), t.source)
	}
}

// output is a configuration being built.
type output map[string]any

// set puts value at path, making the maps on the way.
func (o output) set(value any, path ...string) {
	m := map[string]any(o)
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = value
}

// merge deep-merges src into o: maps are merged, anything else replaced.
func (o output) merge(src map[string]any) {
	mergeMaps(o, src)
}

func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		sm, srcIsMap := v.(map[string]any)
		dm, dstIsMap := dst[k].(map[string]any)
		if srcIsMap && dstIsMap {
			mergeMaps(dm, sm)
			continue
		}
		dst[k] = v
	}
}
