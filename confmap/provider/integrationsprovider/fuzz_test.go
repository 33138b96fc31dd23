package integrationsprovider

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/confmap/converter/integrationsconverter"
)

// FuzzTranslate: whatever a list holds, translating it never panics, and a
// translation names only components it defines: what it adds to the
// default pipelines, and what its own pipelines use.
func FuzzTranslate(f *testing.F) {
	for _, name := range examples {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`[{"type":"zabbix","name":"a b/c","config":{"zabbix_server":"[::1]:99","host":"h"}},{"type":"json","name":"a b/c","enabled":"false"}]`), true)
	f.Add([]byte(`[{"type":"webhook","config":{"webhook_url":"http://${H:-x}/$","headers":{"a":"${"}}}]`), false)
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		entries, err := parse(data)
		if err != nil {
			return
		}
		env := func(k string) (string, bool) { return "v-" + k, true }
		out, err := translate(entries, "fuzz", zap.NewNop(), strict, env)
		if err != nil {
			return
		}
		defined := map[string]bool{}
		for _, section := range []string{"receivers", "processors", "exporters", "connectors"} {
			m, _ := out[section].(map[string]any)
			for id := range m {
				defined[id] = true
			}
		}
		top, _ := out[integrationsconverter.Key].(map[string]any)
		add, _ := top[integrationsconverter.AddToPipelines].(map[string]any)
		for id := range add {
			if !defined[id] {
				t.Fatalf("%s is added to a pipeline but not defined", id)
			}
		}
		service, _ := out["service"].(map[string]any)
		pipelines, _ := service["pipelines"].(map[string]any)
		for pid, p := range pipelines {
			for _, role := range []string{"receivers", "processors", "exporters"} {
				list, _ := p.(map[string]any)[role].([]any)
				for _, id := range list {
					if !defined[id.(string)] {
						t.Fatalf("pipeline %s uses %s, which is not defined", pid, id)
					}
				}
			}
		}
	})
}
