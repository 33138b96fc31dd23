package integrationsprovider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// docsConfig reads one of the shipped example configurations.
func docsConfig(t *testing.T, name string) *confmap.Conf {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", name))
	require.NoError(t, err)
	ret, err := confmap.NewRetrievedFromYAML(b)
	require.NoError(t, err)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	return conf
}

// TestTemplatesMatchDocs: the Elasticsearch and AWS integrations build
// their data exactly as docs/elasticsearch.yaml and docs/aws.yaml do (the
// statements, the batch sizes that fit the exporters' timeouts, the
// metrics), so a change to one that is not made to the other fails here.
func TestTemplatesMatchDocs(t *testing.T) {
	es := docsConfig(t, "elasticsearch.yaml")
	aws := docsConfig(t, "aws.yaml")
	const name = "x"
	tpl := func(file string) *confmap.Conf {
		return confmap.NewFromStringMap(instantiate(file, name))
	}
	for _, tc := range []struct {
		docs     *confmap.Conf
		docsPath string
		file     string
		path     string
		// keys that the entry's settings fill, or that name another
		// component, compared elsewhere
		ignore []string
	}{
		{es, "processors::transform/elasticsearch", "elasticsearch.yaml", "processors::transform/x", nil},
		{es, "exporters::elasticsearch", "elasticsearch.yaml", "exporters::elasticsearch/x", []string{"endpoints", "user", "password", "api_key", "logs_index"}},
		{aws, "processors::transform/cwlogs", "aws_cloudwatch.yaml", "processors::transform/x_cwlogs", nil},
		{aws, "exporters::awscloudwatchlogs", "aws_cloudwatch.yaml", "exporters::awscloudwatchlogs/x", nil},
		{aws, "processors::transform/xray", "aws_xray.yaml", "processors::transform/x_xray", nil},
		{aws, "exporters::awsxray", "aws_xray.yaml", "exporters::awsxray/x", nil},
		{aws, "exporters::awsemf", "aws_emf.yaml", "exporters::awsemf/x", nil},
		{aws, "processors::transform/emf", "aws_emf.yaml", "processors::transform/x_emf", nil},
		{aws, "processors::filter/emf", "aws_emf.yaml", "processors::filter/x_emf", nil},
		{aws, "processors::filter/emf_duration", "aws_emf.yaml", "processors::filter/x_emf_duration", nil},
		{aws, "processors::filter/emf_cpu_user", "aws_emf.yaml", "processors::filter/x_emf_cpu_user", nil},
		{aws, "processors::transform/emf_cpu_user", "aws_emf.yaml", "processors::transform/x_emf_cpu_user", nil},
		{aws, "processors::filter/emf_cpu_system", "aws_emf.yaml", "processors::filter/x_emf_cpu_system", nil},
		{aws, "processors::transform/emf_cpu_system", "aws_emf.yaml", "processors::transform/x_emf_cpu_system", nil},
		{aws, "processors::filter/emf_memory", "aws_emf.yaml", "processors::filter/x_emf_memory", nil},
		{aws, "processors::transform/emf_memory", "aws_emf.yaml", "processors::transform/x_emf_memory", nil},
		{aws, "connectors::spanmetrics/completed", "aws_emf.yaml", "connectors::spanmetrics/x_completed", nil},
		{aws, "connectors::spanmetrics/duration", "aws_emf.yaml", "connectors::spanmetrics/x_duration", nil},
		{aws, "connectors::spanmetrics/cpu_user", "aws_emf.yaml", "connectors::spanmetrics/x_cpu_user", nil},
		{aws, "connectors::spanmetrics/cpu_system", "aws_emf.yaml", "connectors::spanmetrics/x_cpu_system", nil},
		{aws, "connectors::spanmetrics/memory", "aws_emf.yaml", "connectors::spanmetrics/x_memory", nil},
		{aws, "exporters::otlp/aws_spool", "aws_spool.yaml", "exporters::otlp/integrations_aws_spool", []string{"endpoint"}},
		{aws, "receivers::otlp/aws_spool", "aws_spool.yaml", "receivers::otlp/integrations_aws_spool", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			want, ok := tc.docs.Get(tc.docsPath).(map[string]any)
			require.True(t, ok, tc.docsPath)
			got, ok := tpl(tc.file).Get(tc.path).(map[string]any)
			require.True(t, ok, tc.path)
			for _, k := range tc.ignore {
				delete(want, k)
				delete(got, k)
			}
			if tc.path == "receivers::otlp/integrations_aws_spool" {
				// Its own address, so that docs/aws.yaml can run beside it.
				delete(want["protocols"].(map[string]any)["grpc"].(map[string]any), "endpoint")
				delete(got["protocols"].(map[string]any)["grpc"].(map[string]any), "endpoint")
			}
			assert.Equal(t, want, got)
		})
	}
	// The EMF pipelines feed the same measures as the docs'.
	assert.Equal(t, []any{"traces/x_emf_duration", "traces/x_emf_cpu_user", "traces/x_emf_cpu_system", "traces/x_emf_memory"},
		tpl("aws_emf.yaml").Get("connectors::routing/x_emf::table").([]any)[0].(map[string]any)["pipelines"])
	assert.Len(t, aws.Get("connectors::routing/aws_emf::table").([]any)[0].(map[string]any)["pipelines"], 4)
}
