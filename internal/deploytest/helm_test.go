package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// helmVersion is the Helm that .ci/setup.d/30-helm.sh installs.
const helmVersion = "v3.22.0"

const (
	releaseName = "wm"
	namespace   = "monitoring"
	// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml).
	kubeVersion = "1.26.0"
)

func chartDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "deploy", "helm", "otelcol-wafermonitor")
}

// helmBinary is .tools/helm, or helm on PATH.
func helmBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), ".tools", "helm")
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	t.Fatalf("helm is not installed (looked for .tools/helm and helm on PATH): "+
		"run `bash .ci/setup.d/30-helm.sh`, which builds helm %s from the Go module proxy into .tools/", helmVersion)
	return ""
}

// runHelm runs helm with a private home, so that no user configuration or
// repository cache is read.
func runHelm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// valuesCase is one way to install the chart.
type valuesCase struct {
	name  string
	files []string // values files
	set   []string // --set
}

func (c valuesCase) args() []string {
	var a []string
	for _, f := range c.files {
		a = append(a, "--values", f)
	}
	for _, s := range c.set {
		a = append(a, "--set", s)
	}
	return a
}

// valuesCases: each mode with the chart's defaults, and every values file in
// ci/ and examples/.
func valuesCases(t testing.TB) []valuesCase {
	t.Helper()
	dir := chartDir(t)
	cases := []valuesCase{
		{name: "defaults"},
		{name: "mode=gateway", set: []string{"mode=gateway"}},
		{name: "mode=agent-gateway", set: []string{"mode=agent-gateway"}},
	}
	for _, sub := range []string{"ci", "examples"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no values files in %s/%s", dir, sub)
		}
		for _, f := range files {
			cases = append(cases, valuesCase{name: sub + "/" + filepath.Base(f), files: []string{f}})
		}
	}
	return cases
}

func TestHelmLint(t *testing.T) {
	helmBinary(t) // one clear failure when helm is missing
	dir := chartDir(t)
	for _, c := range valuesCases(t) {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", "--namespace", namespace, "--kube-version", kubeVersion, dir}, c.args()...)
			out, errOut, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

// TestHelmTemplate renders every case, decodes every manifest strictly into
// its Kubernetes API type, checks that the parts refer to each other
// correctly, validates each component's collector configuration with the
// real binary, and checks that its logs and traces pipelines keep no events
// in memory after the receiver's answer (checkDurablePipelines).
func TestHelmTemplate(t *testing.T) {
	helmBinary(t)
	bin := testcollector.Binary(t)
	for _, c := range valuesCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := render(t, c.args()...)
			r.checkReferences(t)
			for _, w := range r.workloads {
				t.Run(w.component, func(t *testing.T) {
					validateConfig(t, bin, r, w)
					checkDurablePipelines(t, r, w)
				})
			}
		})
	}
}

// checkDurablePipelines: no batch processor in front of an exporter with a
// persistent queue, and none in the logs and traces pipelines at all (a
// batch processor would hold what the receiver accepted in memory, and an
// exporter without a persistent queue would lose it too); every exporter
// with a persistent queue retries until delivered; no zabbix exporter gets
// finished jobs from both a logs and a traces pipeline.
func checkDurablePipelines(t testing.TB, r *rendered, w workload) {
	t.Helper()
	text, ok := configOf(t, r, w)
	if !ok {
		return
	}
	cfg := parseConfig(t, text)
	for _, p := range batchBeforePersistentQueue(cfg) {
		t.Errorf("%s %s: %s", w.kind, w.name, p)
	}
	for _, p := range droppedAfterRetries(cfg) {
		t.Errorf("%s %s: %s", w.kind, w.name, p)
	}
	for _, p := range zabbixInLogsAndTraces(cfg) {
		t.Errorf("%s %s: %s", w.kind, w.name, p)
	}
	pipelines, _ := dig(cfg, "service", "pipelines").(map[string]any)
	for name := range pipelines {
		signal, _, _ := strings.Cut(name, "/")
		if signal != "logs" && signal != "traces" {
			continue
		}
		if procs := strs(dig(pipelines, name, "processors")); slices.ContainsFunc(procs, isBatchProcessor) {
			t.Errorf("%s %s: pipeline %s runs a batch processor %v: batch in the exporters' sending_queue::batch instead",
				w.kind, w.name, name, procs)
		}
	}
}

// rendered is the decoded output of helm template.
type rendered struct {
	objects   []object
	workloads []workload
}

type object struct {
	kind, name string
	value      any
}

// workload is a DaemonSet or StatefulSet with its pod template.
type workload struct {
	kind, name, component string
	meta                  metav1.ObjectMeta
	selector              *metav1.LabelSelector
	pod                   corev1.PodTemplateSpec
}

func (w workload) container(t testing.TB) corev1.Container {
	t.Helper()
	for _, c := range w.pod.Spec.Containers {
		if c.Name == "collector" {
			return c
		}
	}
	t.Fatalf("%s %s: no container named collector", w.kind, w.name)
	return corev1.Container{}
}

// render runs helm template and decodes its output.
func render(t testing.TB, args ...string) *rendered {
	t.Helper()
	out, errOut, err := runHelm(t, append([]string{"template", releaseName, chartDir(t), "--namespace", namespace, "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, errOut)
	}
	return decodeManifests(t, out)
}

// Prometheus Operator kinds are not in k8s.io/api: these mirror the fields
// of monitoring.coreos.com/v1 that the chart sets, so that a misspelt or
// misplaced field fails like one in a built-in kind.
type promRelabel struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    string   `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

type promEndpoint struct {
	Port              string        `json:"port"`
	Path              string        `json:"path,omitempty"`
	Interval          string        `json:"interval,omitempty"`
	ScrapeTimeout     string        `json:"scrapeTimeout,omitempty"`
	Relabelings       []promRelabel `json:"relabelings,omitempty"`
	MetricRelabelings []promRelabel `json:"metricRelabelings,omitempty"`
}

type promNamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector  `json:"selector"`
		NamespaceSelector promNamespaceSelector `json:"namespaceSelector"`
		Endpoints         []promEndpoint        `json:"endpoints"`
	} `json:"spec"`
}

type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector  `json:"selector"`
		NamespaceSelector   promNamespaceSelector `json:"namespaceSelector"`
		PodMetricsEndpoints []promEndpoint        `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// kinds are the only kinds the chart renders.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/DaemonSet":                       func() any { return &appsv1.DaemonSet{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &serviceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &podMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &prometheusRule{} },
}

func decodeManifests(t testing.TB, out string) *rendered {
	t.Helper()
	r := &rendered{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the rendered manifests: %v", err)
		}
		// Duplicate keys are an error, as they are for the API server.
		js, err := sigsyaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("manifest is not valid YAML: %v\n%s", err, doc)
		}
		if string(js) == "null" {
			continue // only comments
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Fatalf("manifest: %v\n%s", err, doc)
		}
		newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
		if !ok {
			t.Fatalf("unexpected kind %s %s; add it to kinds if the chart should render it:\n%s", tm.APIVersion, tm.Kind, doc)
		}
		v := newObj()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: does not decode strictly into %T: %v\n%s", tm.Kind, v, err, doc)
		}
		if dec.More() {
			t.Fatalf("%s: trailing data after the object", tm.Kind)
		}
		meta := objectMeta(v)
		if meta.Name == "" {
			t.Errorf("%s without metadata.name", tm.Kind)
		}
		if len(meta.Name) > 63 {
			t.Errorf("%s %s: the name is longer than 63 characters", tm.Kind, meta.Name)
		}
		if meta.Namespace != namespace {
			t.Errorf("%s %s: namespace %q, want the release's %q", tm.Kind, meta.Name, meta.Namespace, namespace)
		}
		for _, o := range r.objects {
			if o.kind == tm.Kind && o.name == meta.Name {
				t.Errorf("%s %s is rendered twice", tm.Kind, meta.Name)
			}
		}
		r.objects = append(r.objects, object{kind: tm.Kind, name: meta.Name, value: v})
		switch w := v.(type) {
		case *appsv1.DaemonSet:
			r.workloads = append(r.workloads, workload{kind: tm.Kind, name: w.Name, component: w.Labels["app.kubernetes.io/component"], meta: w.ObjectMeta, selector: w.Spec.Selector, pod: w.Spec.Template})
		case *appsv1.StatefulSet:
			r.workloads = append(r.workloads, workload{kind: tm.Kind, name: w.Name, component: w.Labels["app.kubernetes.io/component"], meta: w.ObjectMeta, selector: w.Spec.Selector, pod: w.Spec.Template})
		}
	}
	if len(r.workloads) == 0 {
		t.Fatal("helm template rendered no DaemonSet or StatefulSet")
	}
	return r
}

func objectMeta(v any) metav1.ObjectMeta {
	switch o := v.(type) {
	case *corev1.ConfigMap:
		return o.ObjectMeta
	case *corev1.Service:
		return o.ObjectMeta
	case *corev1.ServiceAccount:
		return o.ObjectMeta
	case *appsv1.DaemonSet:
		return o.ObjectMeta
	case *appsv1.StatefulSet:
		return o.ObjectMeta
	case *policyv1.PodDisruptionBudget:
		return o.ObjectMeta
	case *networkingv1.NetworkPolicy:
		return o.ObjectMeta
	case *serviceMonitor:
		return o.ObjectMeta
	case *podMonitor:
		return o.ObjectMeta
	case *prometheusRule:
		return o.ObjectMeta
	}
	panic(fmt.Sprintf("objectMeta: %T", v))
}

func find[T any](r *rendered, name string) (T, bool) {
	for _, o := range r.objects {
		if v, ok := o.value.(T); ok && o.name == name {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func all[T any](r *rendered) []T {
	var out []T
	for _, o := range r.objects {
		if v, ok := o.value.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// workloadsSelectedBy are the workloads whose pods a selector picks.
func (r *rendered) workloadsSelectedBy(t testing.TB, what string, sel *metav1.LabelSelector) []workload {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("%s: selector: %v", what, err)
	}
	if s.Empty() {
		t.Errorf("%s: the selector selects every pod in the namespace", what)
	}
	var out []workload
	for _, w := range r.workloads {
		if s.Matches(labels.Set(w.pod.Labels)) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		t.Errorf("%s: the selector %v matches no collector pod", what, s)
	}
	return out
}

func portNames(c corev1.Container) map[string]int32 {
	m := map[string]int32{}
	for _, p := range c.Ports {
		m[p.Name] = p.ContainerPort
	}
	return m
}

// checkReferences checks that the rendered objects fit together as the API
// server and the controllers would need them to.
func (r *rendered) checkReferences(t testing.TB) {
	t.Helper()
	for _, w := range r.workloads {
		what := w.kind + " " + w.name
		s, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || !s.Matches(labels.Set(w.pod.Labels)) {
			t.Errorf("%s: the selector %v does not match the pod template's labels %v", what, w.selector, w.pod.Labels)
		}
		c := w.container(t)
		ports := portNames(c)
		for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil {
				t.Errorf("%s: no HTTP %s probe", what, name)
				continue
			}
			if _, ok := ports[probe.HTTPGet.Port.String()]; !ok {
				t.Errorf("%s: the %s probe's port %s is not a container port %v", what, name, probe.HTTPGet.Port.String(), ports)
			}
		}
		if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil {
			want := "/"
			if _, ok := ports["v1"]; ok {
				want = "/v1/health"
			}
			if got := c.ReadinessProbe.HTTPGet.Path; got != want {
				t.Errorf("%s: readiness probe path %s, want %s", what, got, want)
			}
		}
		if !slices.Contains(c.Args, "--config=/etc/otelcol-wafermonitor/config.yaml") {
			t.Errorf("%s: args %v do not read the mounted config", what, c.Args)
		}
		psc := w.pod.Spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("%s: the pod does not require a non-root user", what)
		}
		checkGoMemLimit(t, what, c)
		// Volumes: the config from this component's ConfigMap, the data directory.
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		if mounts["config"] != "/etc/otelcol-wafermonitor" || mounts["data"] != "/var/lib/otelcol-wafermonitor" {
			t.Errorf("%s: mounts %v; want config at /etc/otelcol-wafermonitor and data at /var/lib/otelcol-wafermonitor", what, mounts)
		}
		if _, ok := configOf(t, r, w); !ok {
			t.Errorf("%s: no ConfigMap with config.yaml for the config volume", what)
		}
		hasData := slices.ContainsFunc(w.pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "data" })
		if ss, ok := find[*appsv1.StatefulSet](r, w.name); ok {
			for _, pvc := range ss.Spec.VolumeClaimTemplates {
				if pvc.Name == "data" {
					hasData = true
					if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
						t.Errorf("%s: the data PersistentVolumeClaim requests no storage", what)
					}
				}
			}
			headless, ok := find[*corev1.Service](r, ss.Spec.ServiceName)
			if !ok || headless.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("%s: serviceName %q is not a headless Service of the release", what, ss.Spec.ServiceName)
			}
		} else if w.kind == "DaemonSet" {
			for _, p := range c.Ports {
				if p.HostPort != 0 && p.HostPort != p.ContainerPort {
					t.Logf("%s: port %s: hostPort %d differs from the container port %d", what, p.Name, p.HostPort, p.ContainerPort)
				}
			}
		}
		if !hasData {
			t.Errorf("%s: no data volume or volume claim", what)
		}
		checkConfigPorts(t, r, w)
	}

	for _, svc := range all[*corev1.Service](r) {
		what := "Service " + svc.Name
		for _, w := range r.workloadsSelectedBy(t, what, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}) {
			ports := portNames(w.container(t))
			for _, p := range svc.Spec.Ports {
				if _, ok := ports[p.TargetPort.String()]; !ok {
					t.Errorf("%s: targetPort %s is not a port of %s %s", what, p.TargetPort.String(), w.kind, w.name)
				}
			}
		}
	}
	for _, sm := range all[*serviceMonitor](r) {
		what := "ServiceMonitor " + sm.Name
		sel, _ := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		var svcPorts []string
		for _, svc := range all[*corev1.Service](r) {
			if sel.Matches(labels.Set(svc.Labels)) {
				for _, p := range svc.Spec.Ports {
					svcPorts = append(svcPorts, p.Name)
				}
			}
		}
		if len(svcPorts) == 0 {
			t.Errorf("%s: selects no Service", what)
		}
		for _, e := range sm.Spec.Endpoints {
			if !slices.Contains(svcPorts, e.Port) {
				t.Errorf("%s: endpoint port %s is not a port of the selected Services %v", what, e.Port, svcPorts)
			}
		}
	}
	for _, pm := range all[*podMonitor](r) {
		what := "PodMonitor " + pm.Name
		for _, w := range r.workloadsSelectedBy(t, what, &pm.Spec.Selector) {
			ports := portNames(w.container(t))
			for _, e := range pm.Spec.PodMetricsEndpoints {
				if _, ok := ports[e.Port]; !ok {
					t.Errorf("%s: port %s is not a port of %s %s", what, e.Port, w.kind, w.name)
				}
			}
		}
	}
	for _, pdb := range all[*policyv1.PodDisruptionBudget](r) {
		r.workloadsSelectedBy(t, "PodDisruptionBudget "+pdb.Name, pdb.Spec.Selector)
	}
	for _, np := range all[*networkingv1.NetworkPolicy](r) {
		what := "NetworkPolicy " + np.Name
		for _, w := range r.workloadsSelectedBy(t, what, &np.Spec.PodSelector) {
			ports := portNames(w.container(t))
			for _, rule := range np.Spec.Ingress {
				for _, p := range rule.Ports {
					if p.Port != nil && p.Port.String() != "" {
						if _, ok := ports[p.Port.String()]; !ok && p.Port.IntValue() == 0 {
							t.Errorf("%s: ingress port %s is not a port of %s %s", what, p.Port.String(), w.kind, w.name)
						}
					}
				}
			}
		}
	}
	if sa := all[*corev1.ServiceAccount](r); len(sa) == 1 {
		for _, w := range r.workloads {
			if w.pod.Spec.ServiceAccountName != sa[0].Name {
				t.Errorf("%s %s: serviceAccountName %q, the chart's account is %q", w.kind, w.name, w.pod.Spec.ServiceAccountName, sa[0].Name)
			}
		}
	}
	r.checkForwarding(t)
}

// checkGoMemLimit: GOMEMLIMIT follows the memory limit (80% by default).
func checkGoMemLimit(t testing.TB, what string, c corev1.Container) {
	t.Helper()
	var got string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			got = e.Value
		}
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		if got != "" {
			t.Errorf("%s: GOMEMLIMIT=%s without a memory limit", what, got)
		}
		return
	}
	m := regexp.MustCompile(`^(\d+)MiB$`).FindStringSubmatch(got)
	if m == nil {
		t.Errorf("%s: GOMEMLIMIT=%q with memory limit %s; want NMiB", what, got, limit.String())
		return
	}
	mib, _ := strconv.ParseInt(m[1], 10, 64)
	share := float64(mib) * 1048576 / float64(limit.Value())
	if share < 0.5 || share > 0.95 {
		t.Errorf("%s: GOMEMLIMIT=%s is %.0f%% of the memory limit %s", what, got, share*100, limit.String())
	}
}

// configOf is the collector configuration a workload mounts.
func configOf(t testing.TB, r *rendered, w workload) (string, bool) {
	t.Helper()
	for _, v := range w.pod.Spec.Volumes {
		if v.Name == "config" && v.ConfigMap != nil {
			cm, ok := find[*corev1.ConfigMap](r, v.ConfigMap.Name)
			if !ok {
				return "", false
			}
			cfg, ok := cm.Data["config.yaml"]
			return cfg, ok
		}
	}
	return "", false
}

func parseConfig(t testing.TB, cfg string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := sigsyaml.Unmarshal([]byte(cfg), &m); err != nil {
		t.Fatalf("the rendered collector config is not YAML: %v\n%s", err, cfg)
	}
	return m
}

// dig walks nested maps.
func dig(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

// checkConfigPorts: every port the collector config listens on is a
// container port, and every container port is listened on.
func checkConfigPorts(t testing.TB, r *rendered, w workload) {
	t.Helper()
	cfg, ok := configOf(t, r, w)
	if !ok {
		return
	}
	what := w.kind + " " + w.name
	listen := map[int32]bool{}
	re := regexp.MustCompile(`(?m)^\s*endpoint: 0\.0\.0\.0:(\d+)$`)
	for _, m := range re.FindAllStringSubmatch(cfg, -1) {
		p, _ := strconv.Atoi(m[1])
		listen[int32(p)] = true
	}
	if p, ok := dig(parseConfig(t, cfg), "service", "telemetry", "metrics", "readers").([]any); ok {
		for _, reader := range p {
			if port, ok := dig(reader, "pull", "exporter", "prometheus", "port").(float64); ok {
				listen[int32(port)] = true
			}
		}
	}
	ports := portNames(w.container(t))
	for _, p := range ports {
		if !listen[p] {
			t.Errorf("%s: container port %d: nothing in the collector config listens there", what, p)
		}
	}
	for p := range listen {
		if !slices.Contains(slices.Collect(maps.Values(ports)), p) {
			t.Errorf("%s: the collector config listens on %d, which is not a container port", what, p)
		}
	}
}

// checkForwarding: agents in front of this release's gateway send logs and
// traces to its headless Service by trace ID.
func (r *rendered) checkForwarding(t testing.TB) {
	t.Helper()
	var agent, gateway *workload
	for i, w := range r.workloads {
		switch w.component {
		case "agent":
			agent = &r.workloads[i]
		case "gateway":
			gateway = &r.workloads[i]
		}
	}
	if agent == nil || gateway == nil {
		return
	}
	ss, _ := find[*appsv1.StatefulSet](r, gateway.name)
	cfgText, _ := configOf(t, r, *agent)
	cfg := parseConfig(t, cfgText)
	lb := dig(cfg, "exporters", "loadbalancing")
	if lb == nil {
		t.Fatalf("agent in front of the gateway has no loadbalancing exporter:\n%s", cfgText)
	}
	if got := dig(lb, "routing_key"); got != "traceID" {
		t.Errorf("loadbalancing routing_key %v, want traceID", got)
	}
	wantHost := fmt.Sprintf("%s.%s.svc.cluster.local", ss.Spec.ServiceName, namespace)
	if got := dig(lb, "resolver", "dns", "hostname"); got != wantHost {
		t.Errorf("loadbalancing resolves %v, want the gateway's headless Service %s", got, wantHost)
	}
	gwPort := portNames(gateway.container(t))["otlp-grpc"]
	if got := dig(lb, "resolver", "dns", "port"); got != strconv.Itoa(int(gwPort)) {
		t.Errorf("loadbalancing port %v, want the gateway's OTLP gRPC container port %d", got, gwPort)
	}
	for _, p := range []string{"logs", "traces"} {
		exps, _ := dig(cfg, "service", "pipelines", p, "exporters").([]any)
		if !slices.Contains(exps, any("loadbalancing")) {
			t.Errorf("agent %s pipeline exports to %v, not to the gateway", p, exps)
		}
	}
	gwCfg, _ := configOf(t, r, *gateway)
	for _, p := range []string{"logs", "traces"} {
		procs, _ := dig(parseConfig(t, gwCfg), "service", "pipelines", p, "processors").([]any)
		if !slices.Contains(procs, any("jobhierarchy")) {
			t.Errorf("gateway %s pipeline has no jobhierarchy processor: %v", p, procs)
		}
	}
}

// validateConfig runs `otelcol-wafermonitor validate` on a workload's
// configuration, with the environment its container would have: literal
// values as given, values from the downward API, secrets and config maps as
// placeholders. A ${env:NAME} without a default that the container does not
// set is an error, unless the container takes whole secrets (envFrom).
func validateConfig(t testing.TB, bin string, r *rendered, w workload) {
	t.Helper()
	cfg, ok := configOf(t, r, w)
	if !ok {
		t.Fatalf("%s %s: no config", w.kind, w.name)
	}
	c := w.container(t)
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = map[string]string{"status.podIP": "10.1.2.3", "spec.nodeName": "node-1"}[e.ValueFrom.FieldRef.FieldPath]
			if env[e.Name] == "" {
				env[e.Name] = "downward-api-value"
			}
		default:
			env[e.Name] = "placeholder-from-" + e.Name
		}
	}
	for _, m := range regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(cfg, -1) {
		if _, ok := env[m[1]]; ok {
			continue
		}
		if len(c.EnvFrom) == 0 {
			t.Errorf("the config reads ${env:%s}, which the container does not set: add it to extraEnv", m[1])
		}
		env[m[1]] = "placeholder-from-envFrom"
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "validate", "--config", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s %s: otelcol-wafermonitor validate: %v\n%s\nconfig:\n%s", w.kind, w.name, err, out, cfg)
	}
}
