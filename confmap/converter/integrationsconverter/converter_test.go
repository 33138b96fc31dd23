package integrationsconverter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// base is the shape of otelcol-config.yaml.
func base() map[string]any {
	return map[string]any{
		"extensions": map[string]any{"health_check": map[string]any{}, "file_storage": map[string]any{"directory": "./data/queue"}},
		"exporters":  map[string]any{"csv": map[string]any{}, "prometheus": map[string]any{}},
		"service": map[string]any{
			"extensions": []any{"health_check", "file_storage"},
			"pipelines": map[string]any{
				"logs":    map[string]any{"receivers": []any{"wafermonitor"}, "exporters": []any{"csv"}},
				"traces":  map[string]any{"receivers": []any{"wafermonitor"}, "exporters": []any{"csv"}},
				"metrics": map[string]any{"receivers": []any{"wafermonitor"}, "exporters": []any{"prometheus"}},
			},
		},
	}
}

func integrations(add map[string]any) map[string]any {
	return map[string]any{Key: map[string]any{AddToPipelines: add}}
}

// resolve merges the maps in order, as the collector merges --config
// files, and runs the converter.
func resolve(t *testing.T, maps ...map[string]any) (*confmap.Conf, error) {
	t.Helper()
	conf := confmap.New()
	for _, m := range maps {
		require.NoError(t, conf.Merge(confmap.NewFromStringMap(m)))
	}
	err := NewFactory().Create(confmap.ConverterSettings{}).Convert(context.Background(), conf)
	return conf, err
}

// TestAppendsWhateverTheOrder: the default outputs stay, the integrations'
// exporters are added, whether the integrations come before or after the
// base configuration, and two integrations files add up.
func TestAppendsWhateverTheOrder(t *testing.T) {
	first := integrations(map[string]any{"webhook/primary": []any{"logs"}, "csv/backup": []any{"logs", "traces"}})
	second := integrations(map[string]any{"zabbix/z": []any{"logs"}, "csv/backup": []any{"logs", "traces"}})
	for name, order := range map[string][]map[string]any{
		"after":  {base(), first, second},
		"before": {first, second, base()},
	} {
		t.Run(name, func(t *testing.T) {
			conf, err := resolve(t, order...)
			require.NoError(t, err)
			assert.Equal(t, []any{"csv", "csv/backup", "webhook/primary", "zabbix/z"}, conf.Get("service::pipelines::logs::exporters"))
			assert.Equal(t, []any{"csv", "csv/backup"}, conf.Get("service::pipelines::traces::exporters"))
			assert.Equal(t, []any{"prometheus"}, conf.Get("service::pipelines::metrics::exporters"))
			assert.Equal(t, []any{"wafermonitor"}, conf.Get("service::pipelines::logs::receivers"))
			assert.Equal(t, []any{"health_check", "file_storage"}, conf.Get("service::extensions"))
			assert.False(t, conf.IsSet(Key))
		})
	}
}

func TestWithoutIntegrationsNothingChanges(t *testing.T) {
	conf, err := resolve(t, base())
	require.NoError(t, err)
	assert.Equal(t, base(), conf.ToStringMap())
}

// TestChoosesThePipeline: the pipeline named after the signal, or the only
// one of the signal; the file_storage extension is switched on.
func TestChoosesThePipeline(t *testing.T) {
	b := base()
	service := b["service"].(map[string]any)
	service["extensions"] = []any{"health_check"}
	service["pipelines"] = map[string]any{"logs/main": map[string]any{"exporters": []any{"csv"}}}
	conf, err := resolve(t, b, integrations(map[string]any{"webhook/w": []any{"logs"}}))
	require.NoError(t, err)
	assert.Equal(t, []any{"csv", "webhook/w"}, conf.Get("service::pipelines::logs/main::exporters"))
	assert.Equal(t, []any{"health_check", "file_storage"}, conf.Get("service::extensions"))
}

// TestErrors: every case in which the integrations cannot be added says
// why and what to do.
func TestErrors(t *testing.T) {
	twoLogs := base()
	twoLogs["service"].(map[string]any)["pipelines"] = map[string]any{
		"logs/a": map[string]any{}, "logs/b": map[string]any{},
	}
	noStorage := base()
	delete(noStorage["extensions"].(map[string]any), "file_storage")
	for _, tc := range []struct {
		name string
		maps []map[string]any
		want string
	}{
		{"alone", []map[string]any{integrations(map[string]any{"webhook/w": []any{"logs"}})}, "integrations: webhook/w: the configuration has no logs pipeline to add it to: load the default configuration first"},
		{"two pipelines", []map[string]any{twoLogs, integrations(map[string]any{"webhook/w": []any{"logs"}})}, `several logs pipelines (logs/a, logs/b) and none named "logs"`},
		{"no storage", []map[string]any{noStorage, integrations(map[string]any{"webhook/w": []any{"logs"}})}, "the configuration does not define: load the default configuration first"},
		{"bad signal", []map[string]any{base(), integrations(map[string]any{"webhook/w": []any{"profiles"}})}, "profiles is not logs, traces or metrics"},
		{"not a list", []map[string]any{base(), integrations(map[string]any{"webhook/w": "logs"})}, "must be a list of signals"},
		{"unknown key", []map[string]any{base(), {Key: map[string]any{"extra": 1}}}, `unknown key "extra"`},
		{"not a map", []map[string]any{base(), {Key: "x"}}, "integrations: must be a map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(t, tc.maps...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestSameFilesNotTwice: an old csv entry whose directory is the data
// directory of the default configuration would write every row a second
// time into the same files: it is not added, and the log says why.
func TestSameFilesNotTwice(t *testing.T) {
	b := base()
	b["exporters"].(map[string]any)["csv"] = map[string]any{"events": map[string]any{"path": "./data/wafer_events_%Y%m%d.csv"}}
	b["exporters"].(map[string]any)["csv/old"] = map[string]any{"events": map[string]any{"path": "data//wafer_events_%Y%m%d.csv"}}
	b["exporters"].(map[string]any)["csv/other"] = map[string]any{"events": map[string]any{"path": "/backup/wafer_events_%Y%m%d.csv"}}
	core, logs := observer.New(zap.WarnLevel)
	conf := confmap.New()
	require.NoError(t, conf.Merge(confmap.NewFromStringMap(b)))
	require.NoError(t, conf.Merge(confmap.NewFromStringMap(integrations(map[string]any{"csv/old": []any{"logs", "traces"}, "csv/other": []any{"logs"}}))))
	require.NoError(t, NewFactory().Create(confmap.ConverterSettings{Logger: zap.New(core)}).Convert(context.Background(), conf))
	assert.Equal(t, []any{"csv", "csv/other"}, conf.Get("service::pipelines::logs::exporters"))
	assert.Equal(t, []any{"csv"}, conf.Get("service::pipelines::traces::exporters"))
	assert.Equal(t, 2, logs.FilterField(zap.String("same_files_as", "csv")).Len())
}
