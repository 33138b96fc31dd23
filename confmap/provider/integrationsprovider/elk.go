package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

// defaultIndexPrefix is the index prefix of docs/elasticsearch.yaml.
const defaultIndexPrefix = "wafer-monitor"

// mapELK: one document per lifecycle event in the daily indices
// {index_prefix}-YYYY.MM.DD, with basic authentication or an API key.
func mapELK(t *translator, _ *entry, name string, f *fields) {
	endpoint := f.httpURL("elasticsearch_url", "the Elasticsearch URL, e.g. http://elasticsearch:9200")
	prefix, ok := f.text("index_prefix")
	if !ok || prefix == "" {
		prefix = defaultIndexPrefix
	}
	user, _ := f.text("username")
	password, _ := f.text("password")
	apiKey, _ := f.text("api_key")
	if endpoint == "" {
		return
	}
	conf := instantiate("elasticsearch.yaml", name)
	es := conf.get("exporters", "elasticsearch/"+name)
	es["endpoints"] = []any{literal(endpoint)}
	es["logs_index"] = prefix
	es["user"] = user
	es["password"] = password
	es["api_key"] = apiKey
	t.out.merge(conf)
	t.logAttached(conf)
}
