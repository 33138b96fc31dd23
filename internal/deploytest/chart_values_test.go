package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// valuesFile writes values YAML to a file for --values.
func valuesFile(t testing.TB, yaml string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// componentConfig renders the chart and returns one component's parsed
// collector configuration.
func componentConfig(t testing.TB, r *rendered, component string) map[string]any {
	t.Helper()
	for _, w := range r.workloads {
		if w.component == component {
			cfg, ok := configOf(t, r, w)
			if !ok {
				t.Fatalf("%s: no config", component)
			}
			return parseConfig(t, cfg)
		}
	}
	t.Fatalf("no %s rendered", component)
	return nil
}

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestChartConfigMerge(t *testing.T) {
	r := render(t, "--values", valuesFile(t, `
mode: agent-gateway
config:
  processors:
    batch:
      timeout: 5s
  service:
    telemetry:
      logs:
        level: debug
gateway:
  config:
    exporters:
      debug: {}
      csv: null
    service:
      pipelines:
        # Replaced whole: no jobhierarchy, no wafermonitor receiver.
        logs:
          receivers: [otlp]
          processors: [memory_limiter, batch]
          exporters: [debug]
        traces: null
`))
	gw := componentConfig(t, r, "gateway")
	agent := componentConfig(t, r, "agent")

	// config applies to every component, key by key.
	for name, cfg := range map[string]map[string]any{"agent": agent, "gateway": gw} {
		if got := dig(cfg, "processors", "batch", "timeout"); got != "5s" {
			t.Errorf("%s: batch timeout %v, want 5s from config", name, got)
		}
		if got := dig(cfg, "service", "telemetry", "logs", "level"); got != "debug" {
			t.Errorf("%s: log level %v, want debug from config", name, got)
		}
		if dig(cfg, "service", "telemetry", "metrics", "readers") == nil {
			t.Errorf("%s: merging service.telemetry lost the chart's metrics readers", name)
		}
	}
	// A named pipeline is replaced whole.
	logs := dig(gw, "service", "pipelines", "logs")
	if got := strs(dig(logs, "processors")); !slices.Equal(got, []string{"memory_limiter", "batch"}) {
		t.Errorf("gateway logs processors %v, want the replacement's [memory_limiter batch]", got)
	}
	if got := strs(dig(logs, "exporters")); !slices.Equal(got, []string{"debug"}) {
		t.Errorf("gateway logs exporters %v, want [debug]", got)
	}
	// null removes a pipeline and a component.
	if dig(gw, "service", "pipelines", "traces") != nil {
		t.Error("gateway traces pipeline set to null is still there")
	}
	if _, ok := dig(gw, "exporters").(map[string]any)["csv"]; ok {
		t.Error("gateway exporter csv set to null is still there")
	}
	// Untouched pipelines and components keep the chart's defaults.
	if got := strs(dig(gw, "service", "pipelines", "metrics", "exporters")); !slices.Equal(got, []string{"prometheus"}) {
		t.Errorf("gateway metrics exporters %v, want the default [prometheus]", got)
	}
	if dig(gw, "processors", "jobhierarchy", "storage") != "file_storage" {
		t.Error("gateway: the default jobhierarchy processor is gone")
	}
	// gateway.config is the gateway's only.
	if dig(agent, "exporters", "debug") != nil {
		t.Error("agent: got the gateway's debug exporter")
	}
}

func TestChartGoMemLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, percent, want string
	}{
		{"512Mi", "", "409MiB"},
		{"2Gi", "", "1638MiB"},
		{"1G", "", "762MiB"},
		{"1073741824", "", "819MiB"},
		{"4Gi", "50", "2048MiB"},
		{"", "", ""},
	} {
		t.Run(tc.limit+"/"+tc.percent, func(t *testing.T) {
			args := []string{"--set", "mode=gateway"}
			if tc.limit != "" {
				args = append(args, "--set-string", "gateway.resources.limits.memory="+tc.limit)
			} else {
				args = append(args, "--set", "gateway.resources.limits=null")
			}
			if tc.percent != "" {
				args = append(args, "--set", "goMemLimitPercent="+tc.percent)
			}
			r := render(t, args...)
			var got string
			for _, e := range r.workloads[0].container(t).Env {
				if e.Name == "GOMEMLIMIT" {
					got = e.Value
				}
			}
			if got != tc.want {
				t.Errorf("GOMEMLIMIT %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChartForwarding(t *testing.T) {
	t.Run("gateway of this release on another port", func(t *testing.T) {
		// checkForwarding compares the agents' target with the gateway's port.
		r := render(t, "--set", "mode=agent-gateway", "--set", "ports.otlp-grpc.containerPort=14317")
		r.checkReferences(t)
	})
	t.Run("gateway of another release", func(t *testing.T) {
		r := render(t, "--set", "agent.gateway.hostname=gw-headless.other.svc.cluster.local", "--set", "agent.gateway.port=4999")
		cfg := componentConfig(t, r, "agent")
		if got := dig(cfg, "exporters", "loadbalancing", "resolver", "dns", "hostname"); got != "gw-headless.other.svc.cluster.local" {
			t.Errorf("loadbalancing resolves %v", got)
		}
		if got := dig(cfg, "exporters", "loadbalancing", "resolver", "dns", "port"); got != "4999" {
			t.Errorf("loadbalancing port %v, want 4999", got)
		}
		if dig(cfg, "processors", "jobhierarchy") != nil {
			t.Error("an agent in front of a gateway runs jobhierarchy: the gateway does")
		}
	})
	t.Run("no gateway", func(t *testing.T) {
		r := render(t)
		cfg := componentConfig(t, r, "agent")
		if dig(cfg, "exporters", "loadbalancing") != nil {
			t.Error("an agent without a gateway has a loadbalancing exporter")
		}
		if !slices.Contains(strs(dig(cfg, "service", "pipelines", "traces", "processors")), "jobhierarchy") {
			t.Error("an agent exporting directly has no jobhierarchy processor")
		}
	})
}

func TestChartPorts(t *testing.T) {
	t.Run("disabled v1 port", func(t *testing.T) {
		r := render(t, "--set", "ports.v1.enabled=false")
		r.checkReferences(t) // probes, services and config agree
		cfg := componentConfig(t, r, "agent")
		if dig(cfg, "receivers", "wafermonitor") != nil {
			t.Error("the wafermonitor receiver is configured although its port is disabled")
		}
		if got := strs(dig(cfg, "service", "pipelines", "logs", "receivers")); !slices.Equal(got, []string{"otlp"}) {
			t.Errorf("logs receivers %v, want [otlp]", got)
		}
		probe := r.workloads[0].container(t).ReadinessProbe
		if probe.HTTPGet.Port.String() != "health" {
			t.Errorf("readiness probe on %s, want the health_check extension", probe.HTTPGet.Port.String())
		}
	})
	t.Run("no host ports", func(t *testing.T) {
		r := render(t, "--set", "agent.ports.v1.hostPort=0", "--set", "agent.ports.otlp-grpc.hostPort=0", "--set", "agent.ports.otlp-http.hostPort=0")
		for _, p := range r.workloads[0].container(t).Ports {
			if p.HostPort != 0 {
				t.Errorf("port %s has hostPort %d", p.Name, p.HostPort)
			}
		}
	})
	t.Run("gateway takes v1", func(t *testing.T) {
		r := render(t, "--set", "mode=gateway", "--set", "gateway.ports.v1.enabled=true")
		r.checkReferences(t)
		c := r.workloads[0].container(t)
		if c.ReadinessProbe.HTTPGet.Path != "/v1/health" {
			t.Errorf("readiness probe %s, want /v1/health", c.ReadinessProbe.HTTPGet.Path)
		}
		svc, ok := find[*corev1.Service](r, "wm-otelcol-wafermonitor-gateway")
		if !ok || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "v1" && p.Port == 17000 }) {
			t.Error("the gateway Service does not offer port v1")
		}
	})
}

// TestChartRejects: wrong values fail the install with a message that names
// the value.
func TestChartRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"--set", "mode=sidecar"}, "mode"},
		{"misspelt key", []string{"--set", "gateway.replica=3"}, "replica"},
		{"unknown port", []string{"--set", "agent.ports.zipkin.containerPort=9411"}, "zipkin"},
		{"memory limit", []string{"--set", "mode=gateway", "--set", "gateway.resources.limits.memory=lots"}, "memory"},
		{"no receiving port", []string{"--set", "ports.v1.enabled=false", "--set", "ports.otlp-grpc.enabled=false", "--set", "ports.otlp-http.enabled=false"}, "receive nothing"},
		{"both monitors", []string{"--set", "serviceMonitor.enabled=true", "--set", "podMonitor.enabled=true"}, "choose one"},
		{"no gateway OTLP", []string{"--set", "mode=agent-gateway", "--set", "gateway.ports.otlp-grpc.enabled=false"}, "gateway.ports.otlp-grpc"},
		{"no health port", []string{"--set", "ports.health.enabled=false"}, "health"},
		{"digest", []string{"--set", "image.digest=latest"}, "digest"},
		{"schedules on several gateway replicas", []string{"--set", "mode=agent-gateway", "--set", "gateway.replicas=3",
			"--set", "gateway.config.processors.jobhierarchy.schedules[0].name=nightly",
			"--set", "gateway.config.processors.jobhierarchy.schedules[0].cron=0 2 * * *"}, "gateway.replicas is 3"},
		{"schedules on agents", []string{"--set", "mode=agent",
			"--set", "config.processors.jobhierarchy.schedules[0].name=nightly",
			"--set", "config.processors.jobhierarchy.schedules[0].cron=0 2 * * *"}, "each agent sees only the jobs of its node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runHelm(t, append([]string{"template", releaseName, chartDir(t), "--namespace", namespace}, tc.args...)...)
			if err == nil {
				t.Fatalf("helm template accepted %v:\n%s", tc.args, out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("helm template %v failed without naming %q:\n%s", tc.args, tc.want, errOut)
			}
		})
	}
}
