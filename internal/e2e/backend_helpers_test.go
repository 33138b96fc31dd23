package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// backendCollector runs the collector binary on the shipped default
// configuration plus the example configurations of docs/, as a user would:
// `otelcol-wafermonitor --config otelcol-config.yaml --config docs/aws.yaml`.
// Every address of the default configuration is moved to a free loopback
// port through the environment variables it reads.
type backendCollector struct {
	*testcollector.Collector
	t     *testing.T
	v1URL string
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	p, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startBackendCollector starts the collector with otelcol-config.yaml and the
// given docs/ files, nothing else. dir holds the data and queue directories
// (reuse it to restart); env adds to and overrides the environment.
func startBackendCollector(t *testing.T, dir string, env []string, docs ...string) *backendCollector {
	t.Helper()
	healthPort := testcollector.FreePort(t)
	v1Port := testcollector.FreePort(t)
	base := []string{
		fmt.Sprintf("WAFERMONITOR_HEALTH_ENDPOINT=127.0.0.1:%d", healthPort),
		fmt.Sprintf("WAFERMONITOR_V1_ENDPOINT=127.0.0.1:%d", v1Port),
		fmt.Sprintf("WAFERMONITOR_OTLP_GRPC_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		fmt.Sprintf("WAFERMONITOR_OTLP_HTTP_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		fmt.Sprintf("WAFERMONITOR_PROMETHEUS_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		"WAFERMONITOR_TELEMETRY_HOST=127.0.0.1",
		fmt.Sprintf("WAFERMONITOR_TELEMETRY_PORT=%d", testcollector.FreePort(t)),
		"WAFERMONITOR_DATA_DIR=" + filepath.Join(dir, "data"),
		"WAFERMONITOR_BATCH_TIMEOUT=200ms",
	}
	files := []string{repoFile(t, "otelcol-config.yaml")}
	for _, d := range docs {
		if strings.HasPrefix(d, "integrations:") {
			files = append(files, d) // an old integrations list, read by its provider
			continue
		}
		files = append(files, repoFile(t, d))
	}
	// The config Start writes comes last and adds nothing.
	c := testcollector.Start(t, "{}\n", testcollector.Options{
		Env:         append(base, env...),
		Dir:         dir,
		ConfigFiles: files,
		HealthURL:   fmt.Sprintf("http://127.0.0.1:%d/", healthPort),
	})
	return &backendCollector{Collector: c, t: t, v1URL: fmt.Sprintf("http://127.0.0.1:%d", v1Port)}
}

// postEvents sends v1 events as one batch, as the Python client 0.3 does.
func (c *backendCollector) postEvents(events []map[string]any) {
	c.t.Helper()
	body, err := json.Marshal(events)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.Post(c.v1URL+"/v1/ingest/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		c.t.Fatalf("POST /v1/ingest/batch: %s %s", resp.Status, b.String())
	}
}

// lot is a job of two wafers, the second of which fails, in the canonical v1
// shape (see /v1 samples). Its events happened in the last minutes: real
// CloudWatch Logs refuses events older than 14 days.
type lot struct {
	site, app, key     string
	job, ok, bad       string
	start              time.Time
	okDuration         float64
	badDuration        float64
	jobDuration        float64
	errorMessage       string
	okCPUUser, okMem   float64
	badCPUUser, badMem float64
}

func newLot(app, key, job, ok, bad string, start time.Time) lot {
	return lot{
		site: "fab-e2e", app: app, key: key, job: job, ok: ok, bad: bad, start: start,
		okDuration: 30, badDuration: 45, jobDuration: 90,
		errorMessage: "chamber pressure out of range",
		okCPUUser:    12.5, okMem: 256, badCPUUser: 20, badMem: 512,
	}
}

func (l lot) event(key, typ, id, parent, sub, kind, status string, at time.Duration, metrics, metadata map[string]any) map[string]any {
	var parentID, subKey any
	if parent != "" {
		parentID = parent
	}
	if sub != "" {
		subKey = sub
	}
	if metrics == nil {
		metrics = map[string]any{}
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	return map[string]any{
		"idempotency_key": key,
		"site_id":         l.site,
		"app":             map[string]any{"app_id": "5f1e2d3c-0000-4000-8000-000000000001", "name": l.app, "version": "1.4.2"},
		"entity":          map[string]any{"type": typ, "id": id, "parent_id": parentID, "business_key": l.key, "sub_key": subKey},
		"event": map[string]any{
			"kind": kind, "at": l.start.Add(at).UTC().Format(time.RFC3339Nano),
			"status": status, "metrics": metrics, "metadata": metadata,
		},
	}
}

// events returns the lot's seven lifecycle events in the order they happened.
func (l lot) events() []map[string]any {
	return []map[string]any{
		l.event(l.job+"-1", "job", l.job, "", "", "started", "running", 0, nil, nil),
		l.event(l.ok+"-1", "subjob", l.ok, l.job, "wafer-01", "started", "running", 1*time.Second, nil, nil),
		l.event(l.ok+"-2", "subjob", l.ok, l.job, "wafer-01", "finished", "succeeded", 31*time.Second,
			map[string]any{"duration_s": l.okDuration, "cpu_user_s": l.okCPUUser, "cpu_system_s": 1.5, "mem_max_mb": l.okMem}, nil),
		l.event(l.bad+"-1", "subjob", l.bad, l.job, "wafer-02", "started", "running", 32*time.Second, nil, nil),
		l.event(l.bad+"-2", "subjob", l.bad, l.job, "wafer-02", "error", "failed", 77*time.Second,
			map[string]any{"duration_s": l.badDuration, "cpu_user_s": l.badCPUUser, "cpu_system_s": 2.5, "mem_max_mb": l.badMem},
			map[string]any{"error": l.errorMessage, "error_type": "ChamberFault"}),
		l.event(l.job+"-2", "job", l.job, "", "", "progress", "running", 78*time.Second, nil, map[string]any{"done": 2, "total": 2}),
		l.event(l.job+"-3", "job", l.job, "", "", "finished", "failed", 90*time.Second,
			map[string]any{"duration_s": l.jobDuration, "cpu_user_s": 40.0, "cpu_system_s": 5.0, "mem_max_mb": 600.0}, nil),
	}
}

// TestExampleConfigurationsTogether: docs/aws.yaml and docs/elasticsearch.yaml
// can be added to the default configuration together, as docs/aws.md says.
func TestExampleConfigurationsTogether(t *testing.T) {
	cmd := exec.Command(testcollector.Binary(t), "validate",
		"--config", repoFile(t, "otelcol-config.yaml"),
		"--config", repoFile(t, "docs/aws.yaml"),
		"--config", repoFile(t, "docs/elasticsearch.yaml"))
	cmd.Env = append(os.Environ(), "AWS_REGION="+awsTestRegion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
}
