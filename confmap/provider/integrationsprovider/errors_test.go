package integrationsprovider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInput: every mistake in a list gets an error that names the entry
// and the key; nothing half-understood is translated silently.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		want       []string
	}{
		{"not JSON", `[{"type": "csv",}]`, []string{"not valid JSON", "line 1, column 17"}},
		{"empty", ``, []string{"it is empty: expected a JSON array"}},
		{"an object", `{"type": "csv"}`, []string{"must be a JSON array of integrations, got an object"}},
		{"entry not an object", `["csv"]`, []string{"entry 1: must be an object with type, name, enabled and config, got a string"}},
		{"no type", `[{"name": "x"}]`, []string{"entry 1 (\"x\"", "type: missing; one of local_api, aws_cloudwatch"}},
		{"type not a string", `[{"type": 3}]`, []string{"type: must be a non-empty string, got a number"}},
		{"enabled not a bool", `[{"type": "csv", "enabled": "yes"}]`, []string{`enabled: must be true or false, got "yes"`}},
		{"config not an object", `[{"type": "csv", "config": []}]`, []string{"config: must be an object, got an array"}},
		{"name not a string", `[{"type": "csv", "name": {}}]`, []string{"name: must be a string, got an object"}},
		{"webhook without URL", `[{"type": "webhook", "name": "w", "config": {}}]`, []string{`entry 1 ("w", type webhook): config.webhook_url: missing`}},
		{"webhook URL malformed", `[{"type": "webhook", "name": "w", "config": {"webhook_url": "hooks.example.com/x"}}]`, []string{`config.webhook_url: "hooks.example.com/x" is not an http:// or https:// URL`}},
		{"webhook method", `[{"type": "webhook", "name": "w", "config": {"webhook_url": "http://h/", "method": "GET"}}]`, []string{`config.method: must be one of post, put, patch, got "GET"`}},
		{"webhook headers", `[{"type": "webhook", "name": "w", "config": {"webhook_url": "http://h/", "headers": {"A": 1}}}]`, []string{"config.headers.A: must be a string, got a number"}},
		{"webhook timeout", `[{"type": "webhook", "name": "w", "config": {"webhook_url": "http://h/", "timeout": "soon"}}]`, []string{"config.timeout: must be a number of seconds from 0.001 to 86400, got soon"}},
		{"local api URL malformed", `[{"type": "local_api", "name": "l", "config": {"base_url": "ftp://api"}}]`, []string{`entry 1 ("l", type local_api): config.base_url: "ftp://api" is not an http:// or https:// URL`}},
		{"local api timeout", `[{"type": "local_api", "config": {"timeout": -1}}]`, []string{"config.timeout: must be a number of seconds from 0.001 to 86400, got -1"}},
		{"zabbix without server and host", `[{"type": "zabbix", "name": "z", "config": {}}]`, []string{"config.zabbix_server: missing", "config.host: missing"}},
		{"zabbix port", `[{"type": "zabbix", "name": "z", "config": {"zabbix_server": "zabbix:http", "host": "h"}}]`, []string{`config.zabbix_server: "zabbix:http": port "http" is not a port number`}},
		{"zabbix host name", `[{"type": "zabbix", "name": "z", "config": {"zabbix_server": "zabbix", "host": "{site}"}}]`, []string{`config.host: "{site}" is not a Zabbix host name`}},
		{"elk URL", `[{"type": "elk", "name": "e", "config": {"elasticsearch_url": "elasticsearch:9200"}}]`, []string{`config.elasticsearch_url: "elasticsearch:9200" is not an http:// or https:// URL`}},
		{"elk without URL", `[{"type": "elk", "name": "e"}]`, []string{"config.elasticsearch_url: missing"}},
		{"csv without directory", `[{"type": "csv", "name": "c", "config": {"rotation": "daily"}}]`, []string{`entry 1 ("c", type csv): config.output_dir: missing`}},
		{"csv rotation", `[{"type": "csv", "config": {"output_dir": "/x", "rotation": "weekly"}}]`, []string{`config.rotation: must be one of daily, hourly, got "weekly"`}},
		{"json compression", `[{"type": "json", "config": {"output_dir": "/x", "compression": "zip"}}]`, []string{`config.compression: must be one of none, gzip, got "zip"`}},
		{"aws platform", `[{"type": "aws_cloudwatch", "config": {"compute_platform": "k8s"}}]`, []string{`config.compute_platform: must be one of ec2, ecs, lambda, got "k8s"`}},
		{"unset variable", `[{"type": "zabbix", "name": "z", "config": {"zabbix_server": "${NO_SUCH_ZABBIX}", "host": "h"}}]`, []string{`config.zabbix_server: the environment variable NO_SUCH_ZABBIX that "${NO_SUCH_ZABBIX}" names is not set`}},
		{"several entries", `[{"type": "csv", "name": "a"}, {"type": "webhook", "name": "b"}]`, []string{`entry 1 ("a", type csv): config.output_dir: missing`, `entry 2 ("b", type webhook): config.webhook_url: missing`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestProvider(nil)
			path := filepath.Join(t.TempDir(), "integrations.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.list), 0o600))
			_, err := retrieve(t, p, "integrations:"+path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "integrations: "+path+": ")
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// TestUnknownTypesAndKeys: the old sidecar skipped an unknown type; so does
// the provider, with a warning, and unknown keys are ignored with a
// warning. Under strict both are errors.
func TestUnknownTypesAndKeys(t *testing.T) {
	list := writeList(t, `[
		{"type": "splunk", "name": "s", "config": {"url": "http://splunk"}},
		{"type": "csv", "name": "c", "owner": "ops", "config": {"output_dir": "/x", "delimiter": ";"}}]`)
	p, logs := newTestProvider(nil)
	out, err := retrieve(t, p, "integrations:"+list)
	require.NoError(t, err)
	assert.Equal(t, []string{"csv/c"}, keys(out["exporters"]))
	assert.Equal(t, 1, logs.FilterMessageSnippet("unknown type skipped").Len())
	assert.Equal(t, 2, logs.FilterMessageSnippet("keys the old format does not have").Len())

	_, err = retrieve(t, p, "integrations:strict:"+list)
	require.Error(t, err)
	assert.ErrorContains(t, err, `entry 1 ("s", type splunk): type: unknown type "splunk"; the types are local_api`)
	assert.ErrorContains(t, err, `entry 2 ("c", type csv): unknown keys owner (strict)`)
	assert.ErrorContains(t, err, "unknown keys config.delimiter (strict)")
}

// TestDisabledEntriesAreNotChecked: a disabled entry sends nothing and is
// not checked (sites keep half-filled entries disabled), but is logged.
func TestDisabledEntriesAreNotChecked(t *testing.T) {
	p, logs := newTestProvider(nil)
	out, err := retrieve(t, p, "integrations:"+writeList(t, `[{"type": "webhook", "name": "later", "enabled": false, "config": {}}]`))
	require.NoError(t, err)
	assert.Empty(t, out)
	require.Equal(t, 1, logs.FilterMessage("Integration disabled (enabled: false): skipped").Len())
}

func TestLocations(t *testing.T) {
	p, _ := newTestProvider(nil)
	_, err := retrieve(t, p, "integrations:")
	assert.ErrorContains(t, err, "say where the integrations are")
	_, err = retrieve(t, p, "integrations:/no/such/integrations.json")
	assert.ErrorContains(t, err, "integrations: /no/such/integrations.json does not exist (use integrations:env")
	_, err = retrieve(t, p, "file:/x")
	assert.ErrorContains(t, err, `"file:/x" uri is not supported by "integrations" provider`)
	p, _ = newTestProvider(map[string]string{EnvConfig: `{"oops"`})
	_, err = retrieve(t, p, "integrations:env")
	assert.ErrorContains(t, err, "integrations: $INTEGRATIONS_CONFIG: not valid JSON")
}
