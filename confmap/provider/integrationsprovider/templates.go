package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"embed"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// The integrations whose data need shaping (Elasticsearch documents,
// CloudWatch log events and metrics, X-Ray annotations) are whole pieces of
// configuration, kept as YAML: what docs/elasticsearch.yaml and
// docs/aws.yaml run, with the integration's name as ENTRY.
//
//go:embed templates/*.yaml
var templates embed.FS

// entryToken stands for the integration's name in the templates.
const entryToken = "ENTRY"

// instantiate returns the configuration of template file with name for
// ENTRY in every key and string.
func instantiate(file, name string) output {
	b, err := templates.ReadFile("templates/" + file)
	if err != nil {
		panic(fmt.Sprintf("template %s is not embedded: %v", file, err))
	}
	ret, err := confmap.NewRetrievedFromYAML(b)
	if err != nil {
		panic(fmt.Sprintf("template %s: %v", file, err))
	}
	raw, err := ret.AsRaw()
	if err != nil {
		panic(fmt.Sprintf("template %s: %v", file, err))
	}
	return output(rename(raw, name).(map[string]any))
}

func rename(v any, name string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, item := range t {
			out[strings.ReplaceAll(k, entryToken, name)] = rename(item, name)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = rename(item, name)
		}
		return out
	case string:
		return strings.ReplaceAll(t, entryToken, name)
	}
	return v
}

// get returns the map at path, which the template must have.
func (o output) get(path ...string) map[string]any {
	m := map[string]any(o)
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			panic(fmt.Sprintf("template has no map at %s", strings.Join(path, "::")))
		}
		m = next
	}
	return m
}

// appendTo appends items to the list at path, which the template must have.
func (o output) appendTo(items []string, path ...string) {
	parent := o.get(path[:len(path)-1]...)
	key := path[len(path)-1]
	list, ok := parent[key].([]any)
	if !ok {
		panic(fmt.Sprintf("template has no list at %s", strings.Join(path, "::")))
	}
	for _, item := range items {
		list = append(list, item)
	}
	parent[key] = list
}
