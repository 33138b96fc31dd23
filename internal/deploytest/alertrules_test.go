package deploytest

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// seriesNotYetExposed are series the rules read that no collector exposes
// yet. When a name is exposed, remove it here and make
// TestAlertRulesOnRealCollectors drive it.
var seriesNotYetExposed []string

// alertSchedules gives collector A a schedule every 5 s, added to
// otelcol-config.yaml in a second file as a user does: one run reported in
// time makes its late start and last success series, and every other slot
// is missed.
const alertSchedules = `
processors:
  jobhierarchy:
    schedules:
      - name: litho-nightly
        match: {service: litho-scheduler, business_key: lot-nightly, site: fab1}
        every: 5s
        grace: 1s
`

// seriesOfOtherComponents are series the rules read of components that
// otelcol-config.yaml does not run; the component's own test scrapes each
// from a real collector: otelcol_exporter_zabbix_values_rejected_total in
// TestRejectedValuesSeriesOfTheAlert (exporter/zabbixexporter).
var seriesOfOtherComponents = []string{"otelcol_exporter_zabbix_values_rejected_total"}

// prometheusOwnSeries are made by Prometheus itself, not scraped.
var prometheusOwnSeries = []string{"up"}

// TestAlertRulesOnRealCollectors runs otelcol-config.yaml as two real
// collectors and a real Prometheus that scrapes both endpoints of each
// (:8888, the collector's own metrics; :8889, the job metrics) and
// evaluates deploy/prometheus/wafermonitor-rules.yaml. Collector A (stall
// timeout 2s, maximum job duration 6s, a schedule every 5 s) gets a failed
// job, a job that goes silent, an invalid event and one run of the schedule,
// whose other slots are missed; collector B (memory limit 2 MiB) refuses
// what it gets. Twice, so that each counter increases between two scrapes.
// Then every series a rule reads must be there with the labels its matchers
// and clauses name (but seriesNotYetExposed), exactly the alerts these
// events call for must fire, their annotations must name only labels the
// alert has, and stopping B must make WafermonitorCollectorDown pending for
// it alone.
func TestAlertRulesOnRealCollectors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two collectors and Prometheus")
	}
	start := time.Now().Add(-time.Minute)
	rules := loadRules(t)
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "otelcol-config.yaml")) //nolint:gosec // the repository's own file
	if err != nil {
		t.Fatal(err)
	}
	config := string(b)
	checkListenersFromEnv(t, config)

	type collector struct {
		c                    *testcollector.Collector
		v1, otlp, self, jobs string
	}
	run := func(schedules string, extraEnv ...string) collector {
		env, ports := localEnv(t, config)
		env = append(env, "WAFERMONITOR_DATA_DIR="+t.TempDir())
		env = append(env, extraEnv...)
		opts := testcollector.Options{Env: env, HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", ports["WAFERMONITOR_HEALTH_ENDPOINT"])}
		main := config
		if schedules != "" {
			main, opts.ConfigFiles = schedules, []string{filepath.Join(repoRoot(t), "otelcol-config.yaml")}
		}
		c := testcollector.Start(t, main, opts)
		return collector{c: c,
			v1:   fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_V1_ENDPOINT"]),
			otlp: fmt.Sprintf("http://127.0.0.1:%d", ports["WAFERMONITOR_OTLP_HTTP_ENDPOINT"]),
			self: fmt.Sprintf("127.0.0.1:%d", ports["WAFERMONITOR_TELEMETRY_PORT"]),
			jobs: fmt.Sprintf("127.0.0.1:%d", ports["WAFERMONITOR_PROMETHEUS_ENDPOINT"])}
	}
	a := run(alertSchedules, "WAFERMONITOR_STALL_TIMEOUT=2s", "WAFERMONITOR_MAX_JOB_DURATION=6s")
	bc := run("", "WAFERMONITOR_MEMORY_LIMIT_MIB=2", "WAFERMONITOR_MEMORY_SPIKE_MIB=1")
	prom := startPrometheus(t, []string{rulesPath(t)}, []string{a.self, a.jobs, bc.self, bc.jobs})
	waitUntil(t, "all four endpoints scraped", 60*time.Second, func() (bool, string) {
		up, err := prom.query(`up == 1`)
		return err == nil && len(up) == 4, fmt.Sprint(up, err)
	})

	// One run of the schedule, reported ahead of its slot (its start is the
	// slot's), in time.
	slot := time.Unix(0, (time.Now().Add(2*time.Second).UnixNano()/int64(5*time.Second)+1)*int64(5*time.Second))
	runID := uuid.NewString()
	postV1(t, a.v1, scheduleRunEvent(runID, "started", "running", slot.Add(200*time.Millisecond)), http.StatusOK)
	postV1(t, a.v1, scheduleRunEvent(runID, "finished", "succeeded", slot.Add(time.Second)), http.StatusOK)

	// What the events below must make each collector count, once per round.
	counted := []string{
		fmt.Sprintf(`wafer_schedule_missed_total{instance=%q, schedule="litho-nightly"}`, a.jobs),
		fmt.Sprintf(`wafer_entity_completed_total{instance=%q, wafer_entity_type="job", wafer_status="failed"}`, a.jobs),
		fmt.Sprintf(`otelcol_processor_jobhierarchy_stalls_total{instance=%q, wafer_entity_type="job"}`, a.self),
		fmt.Sprintf(`otelcol_processor_jobhierarchy_timeouts_total{instance=%q, wafer_entity_type="job"}`, a.self),
		fmt.Sprintf(`otelcol_receiver_wafermonitor_events_rejected_total{instance=%q, reason="invalid"}`, a.self),
		fmt.Sprintf(`otelcol_processor_refused_log_records_total{instance=%q, processor="memory_limiter"}`, bc.self),
		fmt.Sprintf(`otelcol_processor_refused_spans_total{instance=%q, processor="memory_limiter"}`, bc.self),
		fmt.Sprintf(`otelcol_processor_refused_metric_points_total{instance=%q, processor="memory_limiter"}`, bc.self),
		fmt.Sprintf(`otelcol_receiver_refused_log_records_total{instance=%q, receiver="wafermonitor"}`, bc.self),
		fmt.Sprintf(`otelcol_receiver_refused_spans_total{instance=%q, receiver="otlp"}`, bc.self),
	}
	for round := 1; round <= 2; round++ {
		failed, silent := uuid.NewString(), uuid.NewString()
		postV1(t, a.v1, lithoJobEvent(failed, "started", "running"), http.StatusOK)
		postV1(t, a.v1, lithoJobEvent(failed, "finished", "failed"), http.StatusOK)
		postV1(t, a.v1, lithoJobEvent(silent, "started", "running"), http.StatusOK)
		postV1(t, a.v1, `{"site_id": "fab1", "app": {"name": "litho-scheduler"}, "entity": {"type": "job"}}`, http.StatusUnprocessableEntity)
		postV1(t, bc.v1, lithoJobEvent(uuid.NewString(), "started", "running"), http.StatusServiceUnavailable)
		postOTLP(t, bc.otlp+"/v1/traces", otlpSpan, http.StatusServiceUnavailable)
		postOTLP(t, bc.otlp+"/v1/metrics", otlpGauge, http.StatusServiceUnavailable)
		for _, q := range counted {
			waitUntil(t, fmt.Sprintf("round %d: Prometheus has %s", round, q), 90*time.Second, func() (bool, string) {
				r, err := prom.query(fmt.Sprintf("sum(%s) >= %d", q, round))
				return err == nil && len(r) == 1, fmt.Sprint(r, err)
			})
		}
	}

	checkRuleSeries(t, prom, rules, start)

	want := []string{
		"WaferJobFailed service_name=litho-scheduler wafer_site_id=fab1 wafer_status=failed",
		"WaferScheduleMissed schedule=litho-nightly",
		fmt.Sprintf("WaferJobStalled instance=%s wafer_entity_type=job", a.self),
		fmt.Sprintf("WaferJobTimedOut instance=%s wafer_entity_type=job", a.self),
		fmt.Sprintf("WafermonitorV1EventsRejected instance=%s reason=invalid", a.self),
		fmt.Sprintf("WafermonitorReceiverRefusing instance=%s receiver=wafermonitor", bc.self),
		fmt.Sprintf("WafermonitorReceiverRefusing instance=%s receiver=otlp", bc.self),
		fmt.Sprintf("WafermonitorMemoryLimiterRefusing instance=%s processor=memory_limiter", bc.self),
	}
	sort.Strings(want)
	var active []promAlert
	// A scrape that times out on this busy machine makes an alert pending
	// for a moment: wait for exactly these, all firing.
	waitUntil(t, "the alerts fire, and no other is active", 90*time.Second, func() (bool, string) {
		var err error
		active, err = prom.alerts()
		if err != nil {
			return false, err.Error()
		}
		firing, all := alertKeys(active, "firing"), alertKeys(active, "")
		return slices.Equal(firing, want) && slices.Equal(all, want),
			fmt.Sprintf("firing %q, want %q; active %v", firing, want, active)
	})
	checkAlertTemplates(t, rules, active)

	bc.c.Stop()
	waitUntil(t, "WafermonitorCollectorDown pending for B", 60*time.Second, func() (bool, string) {
		alerts, err := prom.alerts()
		var down []string
		for _, al := range alerts {
			if al.Labels["alertname"] == "WafermonitorCollectorDown" {
				down = append(down, al.State+" "+al.Labels["instance"])
			}
		}
		return err == nil && slices.Equal(down, []string{"pending " + bc.self}), fmt.Sprint(down, err)
	})
}

// alertKeys names each alert in the state ("" for any) by its alertname and
// the labels its rule adds, sorted.
func alertKeys(alerts []promAlert, state string) []string {
	var keys []string
	for _, al := range alerts {
		if state != "" && al.State != state {
			continue
		}
		var parts []string
		for k, v := range al.Labels {
			if k != "alertname" && k != "severity" && k != "job" {
				parts = append(parts, k+"="+v)
			}
		}
		sort.Strings(parts)
		keys = append(keys, strings.Join(append([]string{al.Labels["alertname"]}, parts...), " "))
	}
	sort.Strings(keys)
	return keys
}

// checkRuleSeries: every series a rule reads has been scraped (but
// seriesNotYetExposed, seriesOfOtherComponents and Prometheus's own), with
// its selector's matchers, and every label a rule's by/on/... clauses name
// is on some series it reads.
// The list of series not exposed yet must be of series a rule reads, and
// none of them exposed.
func checkRuleSeries(t *testing.T, prom *promServer, rules promRuleFile, start time.Time) {
	t.Helper()
	var recorded, read []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded = append(recorded, r.Record)
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			sels, clauseLabels, err := scanPromQL(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			ruleLabels := map[string]bool{"__name__": true}
			checked := map[string]bool{}
			exposed := false
			for _, sel := range sels {
				names, err := sel.metricNames()
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				for _, metric := range names {
					read = append(read, metric)
					if slices.Contains(seriesNotYetExposed, metric) || slices.Contains(seriesOfOtherComponents, metric) || slices.Contains(recorded, metric) {
						continue
					}
					one := sel.withName(metric).String()
					if checked[one] {
						continue
					}
					checked[one] = true
					if slices.Contains(prometheusOwnSeries, metric) {
						ruleLabels["job"], ruleLabels["instance"] = true, true
						continue
					}
					exposed = true
					if s, err := prom.series(one, start); err != nil || len(s) == 0 {
						t.Errorf("%s reads %s: no such series scraped (%v)", name, one, err)
						continue
					}
					labels, err := prom.labelNames(one, start)
					if err != nil {
						t.Errorf("%s: %v", name, err)
					}
					for _, l := range labels {
						ruleLabels[l] = true
					}
				}
			}
			if !exposed {
				continue // reads only series not exposed yet
			}
			for _, l := range clauseLabels {
				if !ruleLabels[l] {
					t.Errorf("%s groups or matches by %q, which none of the series it reads has (they have %v)", name, l, slices.Sorted(maps.Keys(ruleLabels)))
				}
			}
		}
	}
	for _, metric := range seriesOfOtherComponents {
		if !slices.Contains(read, metric) {
			t.Errorf("seriesOfOtherComponents lists %s, which no rule reads", metric)
		}
	}
	for _, metric := range seriesNotYetExposed {
		if !slices.Contains(read, metric) {
			t.Errorf("seriesNotYetExposed lists %s, which no rule reads", metric)
		}
		if s, err := prom.series(metric, start); err != nil || len(s) > 0 {
			t.Errorf("%s is exposed now (%v, %v): remove it from seriesNotYetExposed and drive it in this test", metric, s, err)
		}
	}
}

// templateLabel is a label an annotation template uses.
var templateLabel = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)

// checkAlertTemplates: each active alert has every label its rule's
// annotations use (a missing one renders as an empty string).
func checkAlertTemplates(t *testing.T, rules promRuleFile, active []promAlert) {
	t.Helper()
	for _, al := range active {
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if r.Alert != al.Labels["alertname"] {
					continue
				}
				for key, text := range r.Annotations {
					for _, m := range templateLabel.FindAllStringSubmatch(text, -1) {
						if _, ok := al.Labels[m[1]]; !ok {
							t.Errorf("%s: annotation %s uses $labels.%s, which the alert does not have: %q", al, key, m[1], al.Annotations[key])
						}
					}
				}
			}
		}
	}
}

// lithoJobEvent is a v1 event of a job of the application litho-scheduler
// at site fab1.
func lithoJobEvent(id, kind, status string) string {
	return fmt.Sprintf(`{"idempotency_key": %q, "site_id": "fab1", "app": {"name": "litho-scheduler", "version": "1.4.2"},`+
		` "entity": {"type": "job", "id": %q, "business_key": "lot-4711"}, "event": {"kind": %q, "at": %q, "status": %q}}`,
		uuid.NewString(), id, kind, time.Now().UTC().Format(time.RFC3339Nano), status)
}

// scheduleRunEvent is a v1 event of a run of alertSchedules' schedule.
func scheduleRunEvent(id, kind, status string, at time.Time) string {
	return fmt.Sprintf(`{"idempotency_key": %q, "site_id": "fab1", "app": {"name": "litho-scheduler", "version": "1.4.2"},`+
		` "entity": {"type": "job", "id": %q, "business_key": "lot-nightly"}, "event": {"kind": %q, "at": %q, "status": %q}}`,
		uuid.NewString(), id, kind, at.UTC().Format(time.RFC3339Nano), status)
}

// One span and one gauge point in OTLP/HTTP's JSON encoding.
const (
	otlpSpan = `{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "etch"}}]},` +
		` "scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",` +
		` "name": "lot", "kind": 1, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000"}]}]}]}`
	otlpGauge = `{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "tool.temperature",` +
		` "gauge": {"dataPoints": [{"asDouble": 21.5, "timeUnixNano": "1700000000000000000"}]}}]}]}]}`
)

// postV1 posts one event to the v1 API and checks the answer's status.
func postV1(t *testing.T, base, body string, want int) {
	t.Helper()
	postOTLP(t, base+"/v1/event", body, want)
}

// postOTLP posts a JSON body and checks the answer's status.
func postOTLP(t *testing.T, url, body string, want int) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body)) //nolint:gosec // loopback test collector
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %s, want %d", url, resp.Status, want)
	}
}
