package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	persistent := func(exporter string) bool {
		q, ok := dig(cfg, "exporters", exporter, "sending_queue").(map[string]any)
		if !ok || q["enabled"] == false {
			return false
		}
		s, _ := q["storage"].(string)
		return s != ""
	}
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
			if persistent(e) {
				problems = append(problems, "pipeline "+name+": a batch processor in front of exporter "+e+
					", whose sending queue is persistent: batch in its sending_queue::batch instead")
			}
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
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
// processor in front of a persistent queue: the default configuration, the
// docs' configurations, and every YAML example in the docs and component
// READMEs (Helm values examples by their config sections). The chart's
// rendered configurations are checked in TestHelmTemplate.
func TestShippedConfigsBatchInQueue(t *testing.T) {
	root := repoRoot(t)
	check := func(what string, cfg map[string]any) {
		t.Helper()
		// A Helm values file carries collector configurations under config.
		for _, c := range []any{cfg, cfg["config"], dig(cfg, "agent", "config"), dig(cfg, "gateway", "config")} {
			if m, ok := c.(map[string]any); ok {
				for _, p := range batchBeforePersistentQueue(m) {
					t.Errorf("%s: %s", what, p)
				}
			}
		}
	}
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
			check(rel, cfg)
		}
	}
	if blocks == 0 {
		t.Fatal("no YAML example with pipelines found in the docs: the glob patterns are wrong")
	}
}
