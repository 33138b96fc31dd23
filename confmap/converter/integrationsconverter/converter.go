package integrationsconverter // import "github.com/wafermonitor/wafermonitor/confmap/converter/integrationsconverter"

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// Key is the top-level key under which the integrations provider lists
// the components to add to the configuration's pipelines. The converter
// removes it.
const Key = "integrations"

// AddToPipelines is the key, under Key, of a map from a component ID (an
// exporter or a connector) to the signals (logs, traces, metrics) of the
// pipelines whose exporters it joins. A map, not a list, so that the
// entries of several integrations files add up when the collector merges
// them.
const AddToPipelines = "add_to_pipelines"

// storageExtension is the extension the integrations' sending queues are
// kept in.
const storageExtension = "file_storage"

// NewFactory returns the factory of the converter that adds the exporters
// of the old sidecar's integrations (from the integrations provider) to
// the pipelines of the rest of the configuration.
//
// The collector merges configuration files key by key but replaces lists,
// so an integrations file that listed its exporters in
// service::pipelines::logs::exporters would remove the outputs of the
// configuration loaded before it (the csv exporter of otelcol-config.yaml).
// Instead the provider names its exporters under integrations::add_to_pipelines
// and this converter, which runs once every file is merged, appends them to
// the pipelines' lists, whatever the order of the --config flags.
func NewFactory() confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return converter{logger: logger}
	})
}

type converter struct {
	logger *zap.Logger
}

// Convert appends the listed components to the pipelines of their signals:
// the pipeline named after the signal ("logs"), or else the only pipeline
// of that signal. The file_storage extension that their queues use must be
// configured; it is added to service::extensions when missing there.
func (c converter) Convert(_ context.Context, conf *confmap.Conf) error {
	if !conf.IsSet(Key) {
		return nil
	}
	wanted, err := additions(conf.Get(Key))
	if err != nil {
		return err
	}
	conf.Delete(Key)
	if len(wanted) == 0 {
		return nil
	}
	pipelines, _ := conf.Get("service::pipelines").(map[string]any)
	lists := map[string][]any{}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(wanted)) {
		for _, signal := range wanted[id] {
			pipeline, err := pick(pipelines, signal)
			if err != nil {
				errs = append(errs, fmt.Errorf("integrations: %s: %w", id, err))
				continue
			}
			list, ok := lists[pipeline]
			if !ok {
				list = exportersOf(pipelines[pipeline])
			}
			if other := sameFiles(conf, list, id); other != "" {
				c.logger.Warn("Integration not added: it would write the same files as another exporter of the pipeline, which writes every row already",
					zap.String("component", id), zap.String("pipeline", pipeline), zap.String("same_files_as", other))
				continue
			}
			if !slices.Contains(list, any(id)) {
				list = append(list, id)
			}
			lists[pipeline] = list
		}
	}
	if !conf.IsSet("extensions::" + storageExtension) {
		errs = append(errs, fmt.Errorf("integrations: the exporters keep their sending queues in the %s extension, which the configuration does not define: load the default configuration first (--config otelcol-config.yaml --config integrations:...) or define %s", storageExtension, storageExtension))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	update := map[string]any{}
	for pipeline, list := range lists {
		update[pipeline] = map[string]any{"exporters": list}
	}
	service := map[string]any{"pipelines": update}
	extensions, _ := conf.Get("service::extensions").([]any)
	if !slices.Contains(extensions, any(storageExtension)) {
		service["extensions"] = append(slices.Clone(extensions), storageExtension)
	}
	return conf.Merge(confmap.NewFromStringMap(map[string]any{"service": service}))
}

// additions reads integrations::add_to_pipelines.
func additions(raw any) (map[string][]string, error) {
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("integrations: must be a map with %s, got %T", AddToPipelines, raw)
	}
	for k := range top {
		if k != AddToPipelines {
			return nil, fmt.Errorf("integrations: unknown key %q (only %s)", k, AddToPipelines)
		}
	}
	add, ok := top[AddToPipelines].(map[string]any)
	if !ok && top[AddToPipelines] != nil {
		return nil, fmt.Errorf("integrations::%s: must map component IDs to lists of signals, got %T", AddToPipelines, top[AddToPipelines])
	}
	out := map[string][]string{}
	for id, v := range add {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("integrations::%s::%s: must be a list of signals, got %T", AddToPipelines, id, v)
		}
		for _, s := range list {
			signal, ok := s.(string)
			if !ok || (signal != "logs" && signal != "traces" && signal != "metrics") {
				return nil, fmt.Errorf("integrations::%s::%s: %v is not logs, traces or metrics", AddToPipelines, id, s)
			}
			out[id] = append(out[id], signal)
		}
	}
	return out, nil
}

// pick chooses the pipeline of a signal.
func pick(pipelines map[string]any, signal string) (string, error) {
	if _, ok := pipelines[signal]; ok {
		return signal, nil
	}
	var candidates []string
	for id := range pipelines {
		if strings.HasPrefix(id, signal+"/") {
			candidates = append(candidates, id)
		}
	}
	slices.Sort(candidates)
	switch len(candidates) {
	case 1:
		return candidates[0], nil
	case 0:
		return "", fmt.Errorf("the configuration has no %s pipeline to add it to: load the default configuration first (--config otelcol-config.yaml --config integrations:...)", signal)
	}
	return "", fmt.Errorf("the configuration has several %s pipelines (%s) and none named %q: name the one the integrations join %q", signal, strings.Join(candidates, ", "), signal, signal)
}

// sameFiles names the csv exporter of list whose events file is the one
// that csv exporter id writes (an old csv entry whose output_dir is the
// data directory of the default configuration): two exporters would write
// every row twice into it.
func sameFiles(conf *confmap.Conf, list []any, id string) string {
	path := func(id string) string {
		p, _ := conf.Get("exporters::" + id + "::events::path").(string)
		if p == "" {
			return ""
		}
		return filepath.Clean(p)
	}
	isCSV := func(id string) bool { return id == "csv" || strings.HasPrefix(id, "csv/") }
	mine := path(id)
	if !isCSV(id) || mine == "" {
		return ""
	}
	for _, item := range list {
		other, _ := item.(string)
		if other != id && isCSV(other) && path(other) == mine {
			return other
		}
	}
	return ""
}

func exportersOf(pipeline any) []any {
	p, _ := pipeline.(map[string]any)
	list, _ := p["exporters"].([]any)
	return slices.Clone(list)
}
