package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

const (
	esTestUser     = "wafermonitor_writer"
	esTestPassword = "s3cret-for-tests"
)

// fakeElasticsearch answers what the elasticsearch exporter calls: the root
// endpoint a client probes and the _bulk API with NDJSON bodies (gzip or
// not), with the answers Elasticsearch gives: per-item results, 409 for a
// document ID that exists, 401 without the right credentials. Documents are
// kept per index.
type fakeElasticsearch struct {
	mu          sync.Mutex
	srv         *httptest.Server
	unavailable bool // answer _bulk with 503, as a cluster without master does
	failedBulks int
	requests    []string
	authErrs    []string
	docs        map[string]map[string]esDoc // index -> _id -> document
	order       []string                    // index/_id in arrival order
}

type esDoc struct {
	Source       map[string]any
	ExpectedDate string // the UTC day on which the exporter sent it
}

func newFakeElasticsearch(t *testing.T) *fakeElasticsearch {
	f := &fakeElasticsearch{docs: map[string]map[string]esDoc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeElasticsearch) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	// Clients of Elasticsearch 8 refuse a server without this header.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if u, p, ok := r.BasicAuth(); !ok || u != esTestUser || p != esTestPassword {
		f.authErrs = append(f.authErrs, r.Method+" "+r.URL.Path+": "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		_, _ = io.WriteString(w, `{"name":"fake","cluster_name":"wafer-monitor","version":{"number":"8.17.0","build_flavor":"default"},"tagline":"You Know, for Search"}`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_bulk"):
		f.bulk(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"error":{"type":"illegal_argument_exception","reason":"no handler for %s %s"},"status":404}`, r.Method, r.URL.Path)
	}
}

func (f *fakeElasticsearch) bulk(w http.ResponseWriter, r *http.Request) {
	if f.unavailable {
		f.failedBulks++
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/2/no master];"},"status":503}`)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		defer func() { _ = gz.Close() }()
		body = gz
	}
	today := time.Now().UTC().Format("2006.01.02")
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var items []map[string]any
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var action map[string]map[string]any
		if err := json.Unmarshal(line, &action); err != nil || len(action) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"error":{"type":"illegal_argument_exception","reason":"Malformed action/metadata line"},"status":400}`)
			return
		}
		var op string
		var meta map[string]any
		for op, meta = range action {
		}
		if !sc.Scan() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var src map[string]any
		if err := json.Unmarshal(sc.Bytes(), &src); err != nil {
			items = append(items, map[string]any{op: map[string]any{"status": 400, "error": map[string]any{"type": "document_parsing_exception", "reason": err.Error()}}})
			continue
		}
		index, _ := meta["_index"].(string)
		id, _ := meta["_id"].(string)
		if id == "" {
			id = fmt.Sprintf("auto-%d", len(f.order))
		}
		if f.docs[index] == nil {
			f.docs[index] = map[string]esDoc{}
		}
		if _, exists := f.docs[index][id]; exists && op == "create" {
			items = append(items, map[string]any{op: map[string]any{"_index": index, "_id": id, "status": 409,
				"error": map[string]any{"type": "version_conflict_engine_exception", "reason": "[" + id + "]: version conflict, document already exists"}}})
			continue
		}
		f.docs[index][id] = esDoc{Source: src, ExpectedDate: today}
		f.order = append(f.order, index+"/"+id)
		items = append(items, map[string]any{op: map[string]any{"_index": index, "_id": id, "status": 201, "result": "created"}})
	}
	out, _ := json.Marshal(map[string]any{"took": 1, "errors": false, "items": items})
	_, _ = w.Write(out)
}

// doc returns the document with the given _id, and its index.
func (f *fakeElasticsearch) doc(id string) (string, esDoc, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for index, docs := range f.docs {
		if d, ok := docs[id]; ok {
			return index, d, true
		}
	}
	return "", esDoc{}, false
}

func (f *fakeElasticsearch) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.order)
}

func esEnv(es *fakeElasticsearch) []string {
	return []string{
		"WAFERMONITOR_ES_ENDPOINT=" + es.srv.URL,
		"WAFERMONITOR_ES_USER=" + esTestUser,
		"WAFERMONITOR_ES_PASSWORD=" + esTestPassword,
		"WAFERMONITOR_ES_FLUSH_INTERVAL=200ms",
	}
}

// TestElasticsearchEndToEnd runs the collector with docs/elasticsearch.yaml
// against a fake Elasticsearch and checks the documents of a lot of two
// wafers, one of which fails; then that documents wait on disk while
// Elasticsearch is down, across a crash and restart of the collector.
func TestElasticsearchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	es := newFakeElasticsearch(t)
	dir := t.TempDir()
	template := loadIndexTemplate(t)

	c := startBackendCollector(t, dir, esEnv(es), "docs/elasticsearch.yaml")
	l := newLot("etch-runner", "lot-0815",
		"a1b2c3d4-0000-4000-8000-0000000000e1", "c3a9e1f0-0000-4000-8000-0000000000f1", "c3a9e1f0-0000-4000-8000-0000000000f2",
		time.Now().Add(-5*time.Minute).Truncate(time.Millisecond))
	events := l.events()
	c.postEvents(events)

	testcollector.WaitFor(t, 60*time.Second, "seven documents", func() bool { return es.count() >= 7 })
	for _, ev := range events {
		key := ev["idempotency_key"].(string)
		index, d, ok := es.doc(key)
		if !ok {
			t.Errorf("no document with _id %s (the event's idempotency key)", key)
			continue
		}
		if want := "wafer-monitor-" + d.ExpectedDate; index != want {
			t.Errorf("%s in index %s, want %s", key, index, want)
		}
		entity := ev["entity"].(map[string]any)
		e := ev["event"].(map[string]any)
		at, _ := time.Parse(time.RFC3339Nano, e["at"].(string))
		src := d.Source
		if src["@timestamp"] != float64(at.UnixMilli()) || src["entity_id"] != entity["id"] || src["entity_type"] != entity["type"] ||
			src["event"] != e["kind"] || src["status"] != e["status"] || src["site_id"] != l.site || src["app"] != l.app ||
			src["app_version"] != "1.4.2" || src["business_key"] != l.key || src["trace_id"] != strings.ReplaceAll(l.job, "-", "") {
			t.Errorf("document %s: %v", key, src)
		}
		if entity["type"] == "subjob" && (src["parent_id"] != l.job || src["sub_key"] != entity["sub_key"]) {
			t.Errorf("subjob document %s: parent %v sub key %v", key, src["parent_id"], src["sub_key"])
		}
		checkAgainstTemplate(t, template, key, src)
	}
	// Operators filter failures and chart durations with these fields.
	if _, d, ok := es.doc(l.bad + "-2"); ok {
		s := d.Source
		if s["error_message"] != l.errorMessage || s["error_type"] != "ChamberFault" || s["outcome"] != "failure" ||
			s["severity"] != "ERROR" || s["duration_s"] != l.badDuration || s["mem_max_mb"] != l.badMem || s["event_name"] != "wafer.subjob.error" {
			t.Errorf("failed wafer's document: %v", s)
		}
	}
	if _, d, ok := es.doc(l.job + "-2"); ok && d.Source["progress_fraction"] != 1.0 {
		t.Errorf("progress document: %v", d.Source)
	}
	es.mu.Lock()
	if len(es.authErrs) > 0 {
		t.Errorf("requests without the configured credentials: %v", es.authErrs)
	}
	es.mu.Unlock()

	t.Run("QueueSurvivesRestart", func(t *testing.T) {
		es.mu.Lock()
		es.unavailable = true
		es.mu.Unlock()
		l2 := newLot("etch-runner", "lot-0816",
			"a1b2c3d4-0000-4000-8000-0000000000e2", "c3a9e1f0-0000-4000-8000-0000000000f3", "c3a9e1f0-0000-4000-8000-0000000000f4",
			time.Now().Add(-3*time.Minute).Truncate(time.Millisecond))
		c.postEvents(l2.events())
		testcollector.WaitFor(t, 60*time.Second, "a refused bulk request", func() bool {
			es.mu.Lock()
			defer es.mu.Unlock()
			return es.failedBulks > 0
		})
		// While the exporter retries a batch it does not finish a graceful
		// shutdown (a service manager ends it with SIGKILL after its stop
		// timeout): a crash is what the queue on disk must survive.
		c.Kill()
		es.mu.Lock()
		es.unavailable = false
		es.mu.Unlock()

		startBackendCollector(t, dir, esEnv(es), "docs/elasticsearch.yaml")
		testcollector.WaitFor(t, 60*time.Second, "the second lot's documents after the restart", func() bool { return es.count() >= 14 })
		for _, ev := range l2.events() {
			if _, _, ok := es.doc(ev["idempotency_key"].(string)); !ok {
				t.Errorf("document %s lost", ev["idempotency_key"])
			}
		}
		if n := es.count(); n != 14 {
			t.Errorf("%d documents, want 14", n)
		}
	})
}

func loadIndexTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, "docs/elasticsearch/index-template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("index template: %v", err)
	}
	if len(tpl.IndexPatterns) != 1 || tpl.IndexPatterns[0] != "wafer-monitor-*" {
		t.Errorf("index template patterns %v", tpl.IndexPatterns)
	}
	props := map[string]any{}
	for k, v := range tpl.Template.Mappings.Properties {
		props[k] = v["type"]
	}
	return props
}

// checkAgainstTemplate: every field of a document is mapped by the index
// template, with a type that accepts the document's value.
func checkAgainstTemplate(t *testing.T, types map[string]any, id string, src map[string]any) {
	t.Helper()
	for k, v := range src {
		typ, ok := types[k]
		if !ok {
			t.Errorf("document %s: field %s is not in the index template", id, k)
			continue
		}
		var fits bool
		switch v.(type) {
		case string:
			fits = typ == "keyword" || typ == "text"
		case float64:
			fits = typ == "double" || typ == "date" || typ == "long"
		case bool:
			fits = typ == "boolean"
		}
		if !fits {
			t.Errorf("document %s: field %s = %v (%T) mapped as %v", id, k, v, v, typ)
		}
	}
}
