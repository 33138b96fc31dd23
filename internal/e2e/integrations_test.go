package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
)

// TestIntegrationsAWSAndElasticsearch runs the default configuration with
// an old sidecar's integrations list of aws_cloudwatch (with a namespace),
// aws_xray and elk entries against the fake AWS services and Elasticsearch:
// the list gets what docs/aws.yaml and docs/elasticsearch.yaml send, in the
// old entries' log group, namespace, index prefix and service name.
func TestIntegrationsAWSAndElasticsearch(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	xray, cwl, emf := newFakeAWS(t, "xray"), newFakeAWS(t, "logs"), newFakeAWS(t, "logs")
	es := newFakeElasticsearch(t)
	dir := t.TempDir()
	list := filepath.Join(dir, "integrations.json")
	if err := os.WriteFile(list, []byte(fmt.Sprintf(`[
		{"type": "aws_cloudwatch", "name": "cloudwatch", "enabled": true,
		 "config": {"aws_region": "%[1]s", "compute_platform": "ec2", "log_group_name": "/wafer-monitor/jobs", "namespace": "WaferMonitor"}},
		{"type": "aws_xray", "name": "xray", "enabled": true, "config": {"aws_region": "%[1]s", "service_name": "wafer-monitor-fab1"}},
		{"type": "elk", "name": "elk", "enabled": true,
		 "config": {"elasticsearch_url": "%[2]s", "index_prefix": "wafer-fab1", "username": "${ES_USER}", "password": "${ES_PASSWORD}"}}
	]`, awsTestRegion, es.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(awsEnv(t, xray, cwl, emf),
		fmt.Sprintf("WAFERMONITOR_INTEGRATIONS_SPOOL_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		"ES_USER="+esTestUser, "ES_PASSWORD="+esTestPassword, "WAFERMONITOR_ES_FLUSH_INTERVAL=200ms")
	c := startBackendCollector(t, dir, env, "integrations:"+list)

	l := newLot("litho-scheduler", "lot-4811",
		"a1b2c3d4-0000-4000-8000-0000000001a1", "c3a9e1f0-0000-4000-8000-0000000001b1", "c3a9e1f0-0000-4000-8000-0000000001b2",
		time.Now().Add(-5*time.Minute).Truncate(time.Millisecond))
	c.postEvents(l.events())

	t.Run("CloudWatchLogs", func(t *testing.T) {
		testcollector.WaitFor(t, 60*time.Second, "seven log events", func() bool { return len(cwl.jobsStream(l.site)) >= 7 })
		events := cwl.jobsStream(l.site)
		checkLogEvents(t, l, events)
		for _, e := range events {
			if !strings.Contains(e.Message, `"compute_platform":"ec2"`) {
				t.Errorf("log event without the old compute_platform: %s", e.Message)
			}
		}
		cwl.checkAuth(t)
	})
	t.Run("EMF", func(t *testing.T) {
		waitForEMF(t, l, emf)
		checkEMF(t, l, emf)
		for _, e := range emf.allEvents() {
			if strings.Contains(e.Message, "wafer.integration") {
				t.Errorf("the spool's mark reached CloudWatch: %s", e.Message)
			}
		}
		emf.checkAuth(t)
	})
	t.Run("XRay", func(t *testing.T) {
		testcollector.WaitFor(t, 60*time.Second, "three segment documents", func() bool { return len(xray.snapshotSegments()) >= 3 })
		segs := xray.snapshotSegments()
		if len(segs) != 3 {
			t.Errorf("%d segment documents, want 3", len(segs))
		}
		jobSpan := ids.SpanID(uuidBytes(t, l.job))
		for _, s := range segs {
			ann, _ := s["annotations"].(map[string]any)
			if ann["AppName"] != l.app || ann["SiteId"] != l.site {
				t.Errorf("segment %v: annotations %v", s["id"], ann)
			}
			if s["id"] == hexOf(jobSpan[:]) && s["name"] != "wafer-monitor-fab1" {
				t.Errorf("job segment named %v, want the old service_name wafer-monitor-fab1", s["name"])
			}
		}
		xray.checkAuth(t)
	})
	t.Run("Elasticsearch", func(t *testing.T) {
		testcollector.WaitFor(t, 60*time.Second, "seven documents", func() bool { return es.count() >= 7 })
		for _, ev := range l.events() {
			key := ev["idempotency_key"].(string)
			index, d, ok := es.doc(key)
			if !ok {
				t.Errorf("no document %s", key)
				continue
			}
			if want := "wafer-fab1-" + d.ExpectedDate; index != want {
				t.Errorf("%s in index %s, want %s", key, index, want)
			}
			if d.Source["business_key"] != l.key || d.Source["site_id"] != l.site {
				t.Errorf("document %s: %v", key, d.Source)
			}
		}
		es.mu.Lock()
		defer es.mu.Unlock()
		if len(es.authErrs) > 0 {
			t.Errorf("requests without the list's credentials: %v", es.authErrs)
		}
	})
}
