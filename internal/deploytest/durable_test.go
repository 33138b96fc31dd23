package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"
)

// batchBeforePersistentQueue lists every pipeline of a collector
// configuration that runs a batch processor in front of an exporter whose
// sending queue is persistent (sending_queue::storage), directly or through
// connectors. Such a processor holds events in memory after the receiver
// answered 200, so a kill loses them although the queue is on disk
// (docs/guarantees.md); the exporter must batch in its queue instead.
func batchBeforePersistentQueue(cfg map[string]any) []string {
	pipelines, _ := dig(cfg, "service", "pipelines").(map[string]any)
	connectors, _ := cfg["connectors"].(map[string]any)
	// downstream: the exporters a pipeline reaches, through connectors too.
	var downstream func(pipeline string, seen map[string]bool) []string
	downstream = func(pipeline string, seen map[string]bool) []string {
		if seen[pipeline] {
			return nil
		}
		seen[pipeline] = true
		var out []string
		for _, e := range strs(dig(pipelines, pipeline, "exporters")) {
			if _, ok := connectors[e]; !ok {
				out = append(out, e)
				continue
			}
			for name := range pipelines {
				if slices.Contains(strs(dig(pipelines, name, "receivers")), e) {
					out = append(out, downstream(name, seen)...)
				}
			}
		}
		return out
	}
	var problems []string
	for name := range pipelines {
		if !slices.ContainsFunc(strs(dig(pipelines, name, "processors")), isBatchProcessor) {
			continue
		}
		for _, e := range downstream(name, map[string]bool{}) {
			if persistentQueue(cfg, e) {
				problems = append(problems, "pipeline "+name+": a batch processor in front of exporter "+e+
					", whose sending queue is persistent: batch in its sending_queue::batch instead")
			}
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// persistentQueue reports whether an exporter's sending queue is on disk
// (sending_queue::storage, not disabled).
func persistentQueue(cfg map[string]any, exporter string) bool {
	q, ok := dig(cfg, "exporters", exporter, "sending_queue").(map[string]any)
	if !ok || q["enabled"] == false {
		return false
	}
	s, _ := q["storage"].(string)
	return s != ""
}

// retriesForeverByDefault are the exporter types whose retry_on_failure
// defaults to max_elapsed_time 0; every other exporter helper defaults to 5
// minutes.
var retriesForeverByDefault = map[string]bool{"csv": true}

// ownRetry are exporter types that do not use the exporter helper's
// retry_on_failure: the Elasticsearch exporter retries bulk requests itself
// (retry::max_retries, which has no "forever"; docs/elasticsearch.yaml).
var ownRetry = map[string]bool{"elasticsearch": true}

// droppedAfterRetries lists every exporter with a persistent queue whose
// retry_on_failure gives up: disabled, or a max_elapsed_time other than 0.
// Such an exporter drops what its queue kept on disk once a backend outage
// outlasts the limit; a durable one retries until delivered, and when its
// queue is full the receiver answers 503 and the client keeps its events
// (docs/guarantees.md).
func droppedAfterRetries(cfg map[string]any) []string {
	exporters, _ := cfg["exporters"].(map[string]any)
	var problems []string
	for id := range exporters {
		typ, _, _ := strings.Cut(id, "/")
		if !persistentQueue(cfg, id) || ownRetry[typ] {
			continue
		}
		retry, _ := dig(exporters, id, "retry_on_failure").(map[string]any)
		if retry["enabled"] == false {
			problems = append(problems, "exporter "+id+": persistent queue with retry_on_failure disabled: a failed export drops the batch")
			continue
		}
		limit, set := retry["max_elapsed_time"]
		if !set {
			if !retriesForeverByDefault[typ] {
				problems = append(problems, "exporter "+id+": persistent queue with the default retry_on_failure::max_elapsed_time (5m): set it to 0s")
			}
			continue
		}
		if !zeroDuration(limit) {
			problems = append(problems, fmt.Sprintf("exporter %s: persistent queue with retry_on_failure::max_elapsed_time %v: set it to 0s", id, limit))
		}
	}
	slices.Sort(problems)
	return problems
}

// zeroDuration: 0, "0", "0s", "0m", …, also as the default of an
// environment variable reference (${env:X:-0s}).
func zeroDuration(v any) bool {
	switch x := v.(type) {
	case float64:
		return x == 0
	case int:
		return x == 0
	case string:
		if inner, ok := strings.CutPrefix(x, "${"); ok {
			_, def, found := strings.Cut(strings.TrimSuffix(inner, "}"), ":-")
			if !found {
				return false
			}
			x = def
		}
		d, err := time.ParseDuration(x)
		return x == "0" || (err == nil && d == 0)
	}
	return false
}

func isBatchProcessor(id string) bool { return id == "batch" || strings.HasPrefix(id, "batch/") }

// TestBatchBeforePersistentQueueCheck: the check finds the pattern, also
// behind a connector, and accepts the durable shape.
func TestBatchBeforePersistentQueueCheck(t *testing.T) {
	parse := func(s string) map[string]any {
		var m map[string]any
		if err := sigsyaml.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bad := parse(`
connectors: {forward: {}}
exporters:
  csv: {sending_queue: {storage: file_storage}}
  debug: {}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [memory_limiter, batch/x], exporters: [forward, debug]}
    logs/out: {receivers: [forward], exporters: [csv]}
`)
	if got := batchBeforePersistentQueue(bad); len(got) != 1 || !strings.Contains(got[0], "exporter csv") {
		t.Errorf("batch/x → forward → csv: got %v", got)
	}
	good := parse(`
exporters:
  csv: {sending_queue: {storage: file_storage, batch: {flush_timeout: 1s}}}
  memory: {sending_queue: {storage: file_storage, enabled: false}}
  prometheus: {}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [memory_limiter], exporters: [csv]}
    metrics: {receivers: [otlp], processors: [batch], exporters: [prometheus, memory]}
`)
	if got := batchBeforePersistentQueue(good); len(got) != 0 {
		t.Errorf("durable shape reported: %v", got)
	}
}

// TestShippedConfigsBatchInQueue: no configuration we ship puts a batch
// processor in front of a persistent queue, and every exporter with a
// persistent queue retries until delivered (max_elapsed_time 0), and no
// zabbix exporter is in both a logs and a traces pipeline: the default
// configuration, the docs' configurations, and every YAML example in the
// docs and component READMEs (Helm values examples by their config
// sections). The chart's rendered configurations are checked in
// TestHelmTemplate.
func TestShippedConfigsBatchInQueue(t *testing.T) {
	forEachShippedConfig(t, func(what string, cfg map[string]any) {
		t.Helper()
		// A Helm values file carries collector configurations under config.
		for _, c := range []any{cfg, cfg["config"], dig(cfg, "agent", "config"), dig(cfg, "gateway", "config")} {
			if m, ok := c.(map[string]any); ok {
				for _, p := range batchBeforePersistentQueue(m) {
					t.Errorf("%s: %s", what, p)
				}
				for _, p := range droppedAfterRetries(m) {
					t.Errorf("%s: %s", what, p)
				}
				for _, p := range zabbixInLogsAndTraces(m) {
					t.Errorf("%s: %s", what, p)
				}
			}
		}
	})
}

// forEachShippedConfig calls check with every configuration shipped as a
// file (otelcol-config.yaml, docs/aws.yaml, docs/elasticsearch.yaml) and
// every YAML example with pipelines in the docs and READMEs.
func forEachShippedConfig(t *testing.T, check func(what string, cfg map[string]any)) {
	t.Helper()
	root := repoRoot(t)
	for _, rel := range []string{"otelcol-config.yaml", "docs/aws.yaml", "docs/elasticsearch.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := sigsyaml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		check(rel, cfg)
	}
	var docs []string
	for _, pattern := range []string{"docs/*.md", "*/*/README.md", "deploy/helm/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, m...)
	}
	block := regexp.MustCompile("(?s)```ya?ml\n(.*?)```")
	blocks := 0
	for _, f := range docs {
		rel, _ := filepath.Rel(root, f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(b, -1) {
			if !strings.Contains(string(m[1]), "pipelines:") {
				continue
			}
			var cfg map[string]any
			if err := sigsyaml.Unmarshal(m[1], &cfg); err != nil {
				t.Errorf("%s, YAML block %d with pipelines does not parse: %v", rel, i+1, err)
				continue
			}
			blocks++
			check(fmt.Sprintf("%s, YAML block %d", rel, i+1), cfg)
		}
	}
	if blocks == 0 {
		t.Fatal("no YAML example with pipelines found in the docs: the glob patterns are wrong")
	}
}

func TestDroppedAfterRetriesCheck(t *testing.T) {
	var cfg map[string]any
	if err := sigsyaml.Unmarshal([]byte(`
exporters:
  webhook: {sending_queue: {storage: file_storage}}
  zabbix: {sending_queue: {storage: file_storage}, retry_on_failure: {max_elapsed_time: 1h}}
  otlp/off: {sending_queue: {storage: file_storage}, retry_on_failure: {enabled: false}}
  loadbalancing: {sending_queue: {storage: file_storage}, retry_on_failure: {max_elapsed_time: "${env:MAX_ELAPSED:-5m}"}}
  csv: {sending_queue: {storage: file_storage}}
  csv/explicit: {sending_queue: {storage: file_storage}, retry_on_failure: {max_elapsed_time: 0s}}
  webhook/env: {sending_queue: {storage: file_storage}, retry_on_failure: {max_elapsed_time: "${env:MAX_ELAPSED:-0s}"}}
  otlp/zero: {sending_queue: {storage: file_storage}, retry_on_failure: {enabled: true, max_elapsed_time: 0}}
  elasticsearch: {sending_queue: {storage: file_storage}, retry: {max_retries: 1000}}
  otlp/memory: {retry_on_failure: {max_elapsed_time: 1m}}
  otlp/disabled: {sending_queue: {enabled: false, storage: file_storage}}
`), &cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range droppedAfterRetries(cfg) {
		id, _, _ := strings.Cut(strings.TrimPrefix(p, "exporter "), ":")
		got = append(got, id)
	}
	if want := []string{"loadbalancing", "otlp/off", "webhook", "zabbix"}; !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
}
