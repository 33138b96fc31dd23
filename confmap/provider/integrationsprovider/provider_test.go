package integrationsprovider

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden translations in testdata")

// examples are the shapes of the old sidecar's example lists.
var examples = []string{"aws-cloudwatch", "aws-ecs", "aws-lambda", "development", "monitoring-only", "production"}

// testEnv is the environment the tests translate in.
var testEnv = map[string]string{"AWS_REGION": "eu-west-1", "ELASTIC_PASSWORD": "s3cret", "LOCAL_API_BASE": "http://local-api.env:18000"}

func newTestProvider(env map[string]string) (*provider, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	return &provider{
		logger:   zap.New(core),
		getenv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		readFile: os.ReadFile,
	}, logs
}

func retrieve(t *testing.T, p *provider, uri string) (map[string]any, error) {
	t.Helper()
	ret, err := p.Retrieve(context.Background(), uri, nil)
	if err != nil {
		return nil, err
	}
	raw, err := ret.AsRaw()
	require.NoError(t, err)
	return raw.(map[string]any), nil
}

func TestScheme(t *testing.T) {
	p := NewFactory().Create(confmap.ProviderSettings{})
	assert.NoError(t, confmaptest.ValidateProviderScheme(p))
	assert.Equal(t, "integrations", p.Scheme())
	assert.NoError(t, p.Shutdown(context.Background()))
}

// TestExamplesTranslate translates every example list and compares the
// result with its golden file (go test -update rewrites them).
func TestExamplesTranslate(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			p, _ := newTestProvider(testEnv)
			got, err := retrieve(t, p, "integrations:"+filepath.Join("testdata", name+".json"))
			require.NoError(t, err)
			gotYAML, err := yaml.Marshal(got)
			require.NoError(t, err)
			golden := filepath.Join("testdata", name+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, gotYAML, 0o600))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(gotYAML))
		})
	}
}

// TestExampleComponents checks what each old type became in the production
// list, key by key.
func TestExampleComponents(t *testing.T) {
	p, logs := newTestProvider(testEnv)
	got, err := retrieve(t, p, "integrations:testdata/production.json")
	require.NoError(t, err)
	conf := confmap.NewFromStringMap(got)

	assert.Equal(t, "http://local-api:18000", conf.Get("exporters::webhook/primary::endpoint"))
	assert.Equal(t, "local_api", conf.Get("exporters::webhook/primary::format"))
	assert.Equal(t, "5s", conf.Get("exporters::webhook/primary::timeout"))
	assert.Equal(t, "file_storage", conf.Get("exporters::webhook/primary::sending_queue::storage"))
	assert.Equal(t, "0s", conf.Get("exporters::webhook/primary::retry_on_failure::max_elapsed_time"))

	assert.Equal(t, []any{"http://elasticsearch:9200"}, conf.Get("exporters::elasticsearch/elasticsearch::endpoints"))
	assert.Equal(t, "wafer-monitor", conf.Get("exporters::elasticsearch/elasticsearch::logs_index"))
	assert.Equal(t, "elastic", conf.Get("exporters::elasticsearch/elasticsearch::user"))
	assert.Equal(t, "${env:ELASTIC_PASSWORD}", conf.Get("exporters::elasticsearch/elasticsearch::password"), "secrets stay references")
	assert.Equal(t, "%Y.%m.%d", conf.Get("exporters::elasticsearch/elasticsearch::logstash_format::date_format"))

	assert.Equal(t, []any{"zabbix:10051"}, conf.Get("exporters::zabbix/zabbix-fab1::endpoints"))
	assert.Equal(t, "wafer-monitor-fab1", conf.Get("exporters::zabbix/zabbix-fab1::host"))
	assert.Equal(t, true, conf.Get("exporters::zabbix/zabbix-fab1::legacy::enabled"))

	assert.Equal(t, "/backup/wafer/csv/wafer_events_%Y%m%d.csv", conf.Get("exporters::csv/backup::events::path"))
	assert.Equal(t, "/backup/wafer/csv/wafer_entities_%Y%m%d.csv", conf.Get("exporters::csv/backup::entities::path"))

	assert.False(t, conf.IsSet("exporters::webhook/compliance"), "disabled")
	assert.Equal(t, map[string]any{
		"webhook/primary":       []any{"logs"},
		"routing/elasticsearch": []any{"logs"},
		"zabbix/zabbix-fab1":    []any{"logs"},
		"csv/backup":            []any{"logs", "traces"},
	}, conf.Get("integrations::add_to_pipelines"))
	assert.Equal(t, 1, logs.FilterMessage("Integration disabled (enabled: false): skipped").Len())
}

func TestWebhookAndFiles(t *testing.T) {
	p, logs := newTestProvider(map[string]string{"ALERTS_TOKEN": "t"})
	got, err := retrieve(t, p, "integrations:testdata/monitoring-only.json")
	require.NoError(t, err)
	conf := confmap.NewFromStringMap(got)
	assert.Equal(t, "https://alerts.example.com/hooks/wafer", conf.Get("exporters::webhook/alerts::endpoint"))
	assert.Equal(t, "v1", conf.Get("exporters::webhook/alerts::format"))
	assert.Equal(t, "POST", conf.Get("exporters::webhook/alerts::method"))
	assert.Equal(t, "Bearer ${env:ALERTS_TOKEN}", conf.Get("exporters::webhook/alerts::headers::Authorization"))
	assert.Equal(t, "${env:ELASTIC_API_KEY}", conf.Get("exporters::elasticsearch/elk::api_key"))
	assert.Equal(t, "wafer-fab1", conf.Get("exporters::elasticsearch/elk::logs_index"))
	assert.Equal(t, 1, logs.FilterField(zap.String("key", "config.auth_token")).Len(), "auth_token has no equivalent: said so")

	p, logs = newTestProvider(nil)
	got, err = retrieve(t, p, "integrations:testdata/development.json")
	require.NoError(t, err)
	conf = confmap.NewFromStringMap(got)
	assert.Equal(t, "jsonl", conf.Get("exporters::csv/debug-json::format"))
	assert.Equal(t, "./data/json/wafer_events_%Y%m%d%H.jsonl", conf.Get("exporters::csv/debug-json::events::path"))
	assert.Nil(t, conf.Get("exporters::csv/debug-json::rotation::compression"))
	assert.Equal(t, "2.5s", conf.Get("exporters::webhook/primary::timeout"))
	assert.Equal(t, 1, logs.FilterField(zap.String("key", "config.pretty_print")).Len())
}

func TestAWS(t *testing.T) {
	p, _ := newTestProvider(testEnv)
	got, err := retrieve(t, p, "integrations:testdata/aws-cloudwatch.json")
	require.NoError(t, err)
	conf := confmap.NewFromStringMap(got)
	assert.Equal(t, "eu-central-1", conf.Get("exporters::awscloudwatchlogs/cloudwatch::region"))
	assert.Equal(t, "/wafer-monitor/fab1", conf.Get("exporters::awscloudwatchlogs/cloudwatch::log_group_name"))
	assert.Equal(t, "i-0a1b2c3d4e5f67890", conf.Get("exporters::awscloudwatchlogs/cloudwatch::log_stream_name"))
	assert.Equal(t, "WaferMonitor/Fab1", conf.Get("exporters::awsemf/cloudwatch::namespace"))
	assert.Equal(t, "eu-central-1", conf.Get("exporters::awsxray/xray::region"))
	statements := conf.Get("processors::transform/xray_xray::trace_statements").([]any)
	assert.Equal(t, `set(span.attributes["aws.local.service"], "wafer-monitor-fab1") where span.kind == SPAN_KIND_SERVER`, statements[len(statements)-1])
	cw := conf.Get("processors::transform/cloudwatch_cwlogs::log_statements").([]any)
	assert.Contains(t, cw, `set(resource.attributes["cloud.platform"], "aws_ec2")`)
	assert.Contains(t, cw, `set(log.body["instance_id"], "i-0a1b2c3d4e5f67890")`)
	emf := conf.Get("processors::transform/cloudwatch_emf::metric_statements").([]any)
	assert.Equal(t, `set(resource.attributes["wafer.integration"], "cloudwatch")`, emf[len(emf)-1])
	assert.Equal(t, []any{`resource.attributes["wafer.integration"] != "cloudwatch"`}, conf.Get("processors::filter/cloudwatch_emf_spool::metrics::metric"))
	assert.Equal(t, map[string]any{
		"webhook/primary":                  []any{"logs"},
		"routing/cloudwatch_logs":          []any{"logs"},
		"routing/cloudwatch_emf":           []any{"traces"},
		"spanmetrics/cloudwatch_completed": []any{"traces"},
		"otlp/integrations_aws_spool":      []any{"traces"},
	}, conf.Get("integrations::add_to_pipelines"))

	// Without a namespace: no metrics; a region from $AWS_REGION.
	got, err = retrieve(t, p, "integrations:"+writeList(t, `[{"type":"aws_cloudwatch","name":"cw","config":{}}]`))
	require.NoError(t, err)
	conf = confmap.NewFromStringMap(got)
	assert.Equal(t, "${env:AWS_REGION:-}", conf.Get("exporters::awscloudwatchlogs/cw::region"))
	assert.Equal(t, "/wafer-monitor/jobs", conf.Get("exporters::awscloudwatchlogs/cw::log_group_name"))
	assert.Equal(t, "{InstanceId}", conf.Get("exporters::awscloudwatchlogs/cw::log_stream_name"))
	assert.False(t, conf.IsSet("exporters::awsemf/cw"))
}

// TestEnvSource: integrations:env reads $INTEGRATIONS_CONFIG, whose value is
// the JSON itself; without it, the old sidecar's default local_api.
func TestEnvSource(t *testing.T) {
	list, err := os.ReadFile("testdata/monitoring-only.json")
	require.NoError(t, err)
	p, _ := newTestProvider(map[string]string{EnvConfig: string(list)})
	got, err := retrieve(t, p, "integrations:env")
	require.NoError(t, err)
	assert.Contains(t, got["exporters"], "zabbix/zabbix-fab1")

	// A site without a Local API: an empty list adds nothing.
	p, _ = newTestProvider(map[string]string{EnvConfig: "[]"})
	got, err = retrieve(t, p, "integrations:env")
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, tc := range []struct {
		name    string
		env     map[string]string
		base    string
		timeout string
	}{
		{"unset", nil, "http://localhost:18000", "5s"},
		{"empty", map[string]string{EnvConfig: "  "}, "http://localhost:18000", "5s"},
		{"local api variables", map[string]string{EnvLocalAPIBase: "http://api.fab1:8000/", EnvLocalAPITimeout: "2"}, "http://api.fab1:8000", "2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, logs := newTestProvider(tc.env)
			got, err := retrieve(t, p, "integrations:env")
			require.NoError(t, err)
			conf := confmap.NewFromStringMap(got)
			assert.Equal(t, tc.base, conf.Get("exporters::webhook/local_api::endpoint"))
			assert.Equal(t, tc.timeout, conf.Get("exporters::webhook/local_api::timeout"))
			assert.Equal(t, "local_api", conf.Get("exporters::webhook/local_api::format"))
			assert.Equal(t, 1, logs.FilterMessageSnippet("is not set").Len())
		})
	}
}

// TestPlaceholders: ${VAR} of values passed through become ${env:VAR},
// any other $ is escaped; values the translation reads are resolved.
func TestPlaceholders(t *testing.T) {
	assert.Equal(t, "Bearer ${env:TOKEN}", toCollector("Bearer ${TOKEN}"))
	assert.Equal(t, "pa$$word ${env:A:-x}", toCollector("pa$word ${A:-x}"))
	assert.Equal(t, "$$${env:X}", toCollector("$${X}"), "a $ before a placeholder stays a $")
	env := func(k string) (string, bool) { return map[string]string{"HOST": "zbx"}[k], k == "HOST" }
	got, err := resolve("http://${HOST}:${PORT:-10051}", env)
	require.NoError(t, err)
	assert.Equal(t, "http://zbx:10051", got)
	_, err = resolve("${NOPE}", env)
	assert.ErrorContains(t, err, "the environment variable NOPE")

	p, _ := newTestProvider(map[string]string{"ZBX": "zabbix.fab1", "API": "http://api:18000"})
	out, err := retrieve(t, p, "integrations:"+writeList(t, `[
		{"type":"zabbix","name":"z","config":{"zabbix_server":"${ZBX}","host":"h"}},
		{"type":"local_api","name":"l","config":{"base_url":"${API}"}},
		{"type":"webhook","name":"w","config":{"webhook_url":"http://hook/$x","headers":{"K":"a$b ${SECRET}"}}}]`))
	require.NoError(t, err)
	conf := confmap.NewFromStringMap(out)
	assert.Equal(t, []any{"zabbix.fab1:10051"}, conf.Get("exporters::zabbix/z::endpoints"))
	assert.Equal(t, "http://api:18000", conf.Get("exporters::webhook/l::endpoint"))
	assert.Equal(t, "http://hook/$$x", conf.Get("exporters::webhook/w::endpoint"))
	assert.Equal(t, "a$$b ${env:SECRET}", conf.Get("exporters::webhook/w::headers::K"))
}

// TestNames: names become component names; the same name twice is made
// unique.
func TestNames(t *testing.T) {
	p, _ := newTestProvider(nil)
	out, err := retrieve(t, p, "integrations:"+writeList(t, `[
		{"type":"csv","name":"Backup CSV!","config":{"output_dir":"/a"}},
		{"type":"json","name":"Backup CSV!","config":{"output_dir":"/b"}},
		{"type":"csv","config":{"output_dir":"/c"}}]`))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"csv/Backup_CSV", "csv/Backup_CSV_2", "csv/unnamed"}, keys(out["exporters"]))
}

func keys(m any) []string {
	var out []string
	for k := range m.(map[string]any) {
		out = append(out, k)
	}
	return out
}

// writeList writes an integrations list to a file and returns its path.
func writeList(t *testing.T, list string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "integrations.json")
	require.NoError(t, os.WriteFile(path, []byte(strings.TrimSpace(list)), 0o600))
	return path
}
