package faulttest

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter"
	"github.com/wafermonitor/wafermonitor/exporter/webhookexporter"
	"github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"
)

var secretName = regexp.MustCompile(`(?i)secret|password|passwd|token|psk|api_?key|credential`)

// TestSecretsAreOpaque: every setting of our components whose name says it
// is a secret is a configopaque.String, which the collector prints as
// [REDACTED] (in its logs, zpages and when it marshals the configuration).
func TestSecretsAreOpaque(t *testing.T) {
	configs := map[string]component.Config{
		"wafermonitor receiver":  wafermonitorreceiver.NewFactory().CreateDefaultConfig(),
		"jobhierarchy processor": jobhierarchyprocessor.NewFactory().CreateDefaultConfig(),
		"csv exporter":           csvexporter.NewFactory().CreateDefaultConfig(),
		"webhook exporter":       webhookexporter.NewFactory().CreateDefaultConfig(),
		"zabbix exporter":        zabbixexporter.NewFactory().CreateDefaultConfig(),
	}
	opaque := reflect.TypeOf(configopaque.String(""))
	for name, cfg := range configs {
		var walk func(reflect.Type, string, int)
		walk = func(typ reflect.Type, path string, depth int) {
			if depth > 8 {
				return
			}
			for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
				typ = typ.Elem()
			}
			if typ.Kind() != reflect.Struct {
				return
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
				p := path + "." + tag
				if f.Type.Kind() == reflect.String && f.Type != opaque && secretName.MatchString(tag) {
					t.Errorf("%s: setting %s is a plain string; make it a configopaque.String", name, strings.TrimPrefix(p, "."))
				}
				walk(f.Type, p, depth+1)
			}
		}
		walk(reflect.TypeOf(cfg), "", 0)
	}

	// And the one secret we have is printed redacted.
	cfg := webhookexporter.NewFactory().CreateDefaultConfig().(*webhookexporter.Config)
	cfg.Signing.Secret = "hmac-key-do-not-print"
	conf := confmap.New()
	if err := conf.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if got := conf.Get("signing::secret"); got != "[REDACTED]" {
		t.Errorf("signing::secret marshals as %v", got)
	}
}
