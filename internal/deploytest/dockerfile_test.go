package deploytest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// repoRoot is the repository's top directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// instruction is one Dockerfile instruction with its arguments (continuation
// lines joined) and the comment lines right above it.
type instruction struct {
	line    int
	cmd     string // upper case
	args    string
	comment []string
}

// stage is one FROM … and what follows it.
type stage struct {
	image string // after ARG substitution
	name  string
	instr []instruction
}

type dockerfile struct {
	args   map[string]string // ARG defaults before the first FROM
	stages []*stage
}

func parseDockerfile(t testing.TB, file string) *dockerfile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var all []instruction
	var comment []string
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur != nil { // continuation
			cont := strings.HasSuffix(line, `\`)
			if !strings.HasPrefix(line, "#") {
				cur.args += " " + strings.TrimSpace(strings.TrimSuffix(line, `\`))
			}
			if !cont {
				all = append(all, *cur)
				cur = nil
			}
			continue
		}
		switch {
		case line == "":
			comment = nil
			continue
		case strings.HasPrefix(line, "#"):
			comment = append(comment, strings.TrimSpace(strings.TrimPrefix(line, "#")))
			continue
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{line: n, cmd: strings.ToUpper(cmd), comment: comment}
		comment = nil
		if strings.HasSuffix(args, `\`) {
			in.args = strings.TrimSpace(strings.TrimSuffix(args, `\`))
			cur = &in
			continue
		}
		in.args = strings.TrimSpace(args)
		all = append(all, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: the last instruction ends with a line continuation", file, cur.line)
	}

	d := &dockerfile{args: map[string]string{}}
	for _, in := range all {
		switch {
		case in.cmd == "ARG" && len(d.stages) == 0:
			k, v, _ := strings.Cut(in.args, "=")
			d.args[k] = strings.Trim(v, `"`)
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			st := &stage{image: os.Expand(fields[0], func(k string) string { return d.args[k] })}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			d.stages = append(d.stages, st)
		case len(d.stages) == 0:
			t.Fatalf("%s:%d: %s before the first FROM", file, in.line, in.cmd)
		default:
			st := d.stages[len(d.stages)-1]
			st.instr = append(st.instr, in)
		}
	}
	if len(d.stages) == 0 {
		t.Fatalf("%s: no FROM", file)
	}
	return d
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// workdir is the stage's last WORKDIR ("/" without one).
func (s *stage) workdir() string {
	w := "/"
	for _, in := range s.all("WORKDIR") {
		w = path.Join(w, in.args)
	}
	return w
}

// env is the stage's ENV settings.
func (s *stage) env(t testing.TB) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Dockerfile:%d: ENV %q: write KEY=VALUE", in.line, in.args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// copyArgs splits COPY's arguments into flags, sources and destination.
func copyArgs(t testing.TB, in instruction) (flags map[string]string, srcs []string, dst string) {
	t.Helper()
	flags = map[string]string{}
	fields := strings.Fields(in.args)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(fields[0], "--"), "=")
		flags[k] = v
		fields = fields[1:]
	}
	if len(fields) < 2 {
		t.Fatalf("Dockerfile:%d: COPY %s: needs a source and a destination", in.line, in.args)
	}
	return flags, fields[:len(fields)-1], fields[len(fields)-1]
}

// makeVariables reads the Makefile's simple `NAME := value` assignments.
func makeVariables(t testing.TB, makefile string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	re := regexp.MustCompile(`^(?:export\s+)?([A-Z_]+)\s*[:?]?=\s*(.*)$`)
	for _, line := range strings.Split(makefile, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			vars[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return vars
}

// makeRecipe returns the recipe lines of a Makefile target.
func makeRecipe(makefile, target string) []string {
	var recipe []string
	in := false
	for _, line := range strings.Split(makefile, "\n") {
		switch {
		case strings.HasPrefix(line, target+":"):
			in = true
		case in && strings.HasPrefix(line, "\t"):
			recipe = append(recipe, strings.TrimSpace(line))
		case in:
			return recipe
		}
	}
	return recipe
}

// configPorts reads the listening ports of otelcol-config.yaml from the
// defaults of its environment variables: WAFERMONITOR_X_ENDPOINT (host:port)
// and WAFERMONITOR_TELEMETRY_PORT.
func configPorts(t testing.TB, config string) map[string]int {
	t.Helper()
	ports := map[string]int{}
	re := regexp.MustCompile(`\$\{env:(WAFERMONITOR_[A-Z0-9_]+):-([^}]*)\}`)
	for _, m := range re.FindAllStringSubmatch(config, -1) {
		name, def := m[1], m[2]
		var p string
		switch {
		case strings.HasSuffix(name, "_ENDPOINT"):
			_, p, _ = strings.Cut(def, ":")
		case strings.HasSuffix(name, "_PORT"):
			p = def
		default:
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("otelcol-config.yaml: ${env:%s:-%s}: the default has no port", name, def)
		}
		ports[name] = n
	}
	if len(ports) == 0 {
		t.Fatal("otelcol-config.yaml: no ${env:WAFERMONITOR_…_ENDPOINT:-host:port} defaults found")
	}
	return ports
}

// pinnedImage: an exact version tag (1.26.8, 1.26.8-bookworm) or a digest.
var pinnedImage = regexp.MustCompile(`^[^:@]+(:[^:@]*\d+\.\d+\.\d+[^:@]*)?(@sha256:[0-9a-f]{64})?$`)

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	d := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	makefileBytes, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	makefile := string(makefileBytes)
	configBytes, err := os.ReadFile(filepath.Join(root, "otelcol-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]*stage{}
	for _, s := range d.stages {
		if s.name != "" {
			stages[s.name] = s
		}
	}
	final := d.stages[len(d.stages)-1]

	t.Run("base images pinned", func(t *testing.T) {
		for _, s := range d.stages {
			if s.image == "scratch" || stages[s.image] != nil {
				continue
			}
			m := pinnedImage.FindStringSubmatch(s.image)
			if m == nil || (m[1] == "" && m[2] == "") {
				t.Errorf("FROM %s: pin the base image to an exact version tag or a digest", s.image)
			}
		}
	})

	t.Run("Go version", func(t *testing.T) {
		goMod, err := os.ReadFile(filepath.Join(root, "cmd", "otelcol-wafermonitor", "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(goMod))
		for _, s := range d.stages {
			m := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(s.image)
			if m == nil || want == nil {
				continue
			}
			if atoi(m[1])*1000+atoi(m[2]) < atoi(want[1])*1000+atoi(want[2]) {
				t.Errorf("FROM %s: the distribution module needs go %s.%s", s.image, want[1], want[2])
			}
		}
	})

	t.Run("COPY sources exist", func(t *testing.T) {
		ignored := dockerIgnore(t, root)
		for _, s := range d.stages {
			for _, in := range s.all("COPY") {
				flags, srcs, _ := copyArgs(t, in)
				if from := flags["from"]; from != "" {
					if stages[from] == nil {
						t.Errorf("Dockerfile:%d: COPY --from=%s: no such stage", in.line, from)
					}
					continue
				}
				for _, src := range srcs {
					matches, err := filepath.Glob(filepath.Join(root, src))
					if err != nil || len(matches) == 0 {
						t.Errorf("Dockerfile:%d: COPY %s: not in the repository", in.line, src)
						continue
					}
					if src != "." && ignored(src) {
						t.Errorf("Dockerfile:%d: COPY %s: excluded by .dockerignore", in.line, src)
					}
				}
			}
		}
	})

	t.Run("build is make build", func(t *testing.T) {
		vars := makeVariables(t, makefile)
		recipe := makeRecipe(makefile, "build")
		if len(recipe) == 0 {
			t.Fatal("Makefile: no build target")
		}
		joined := strings.Join(recipe, "\n")
		for _, want := range []string{"go build", "-trimpath", "-o $(BIN)", "$(GO)"} {
			if want == "go build" {
				if !strings.Contains(strings.ReplaceAll(joined, "$(GO)", "go"), want) {
					t.Errorf("Makefile build: %q does not run go build", joined)
				}
				continue
			}
			if !strings.Contains(joined, want) {
				t.Errorf("Makefile build: %q lacks %s", joined, want)
			}
		}
		if vars["CGO_ENABLED"] != "0" {
			t.Errorf("Makefile: CGO_ENABLED is %q, want 0 (a static binary)", vars["CGO_ENABLED"])
		}
		bin := strings.TrimPrefix(vars["BIN"], "$(CURDIR)/")
		if bin == "" {
			t.Fatal("Makefile: BIN is not set")
		}

		// The stage that runs make build is the one the binary is copied from.
		var builder *stage
		for _, s := range d.stages {
			for _, in := range s.all("RUN") {
				for _, part := range strings.Split(in.args, "&&") {
					if strings.TrimSpace(part) == "make build" {
						builder = s
					}
				}
				if strings.Contains(in.args, "go build") {
					t.Errorf("Dockerfile:%d: RUN %s: build with `make build`, as the Makefile does", in.line, in.args)
				}
			}
		}
		if builder == nil {
			t.Fatal("Dockerfile: no stage runs `make build`")
		}
		wantSrc := path.Join(builder.workdir(), bin)
		var binDst string
		for _, in := range final.all("COPY") {
			flags, srcs, dst := copyArgs(t, in)
			if flags["from"] == builder.name && slices.Contains(srcs, wantSrc) {
				binDst = dst
			}
		}
		if binDst == "" {
			t.Fatalf("Dockerfile: the final stage does not COPY --from=%s %s", builder.name, wantSrc)
		}
		ep := final.all("ENTRYPOINT")
		if len(ep) != 1 || !strings.Contains(ep[0].args, `"`+binDst+`"`) {
			t.Errorf("Dockerfile: ENTRYPOINT should run %s", binDst)
		}
	})

	t.Run("default config", func(t *testing.T) {
		var cfgDst string
		for _, in := range final.all("COPY") {
			flags, srcs, dst := copyArgs(t, in)
			if flags["from"] == "" && slices.Contains(srcs, "otelcol-config.yaml") {
				cfgDst = dst
			}
		}
		if cfgDst == "" {
			t.Fatal("Dockerfile: the final stage does not COPY otelcol-config.yaml")
		}
		if !strings.HasPrefix(cfgDst, "/etc/") {
			t.Errorf("Dockerfile: the default config goes to %s; use /etc/…", cfgDst)
		}
		cmd := final.all("CMD")
		if len(cmd) != 1 || !strings.Contains(cmd[0].args, `"`+cfgDst+`"`) {
			t.Errorf("Dockerfile: CMD should read --config %s", cfgDst)
		}
	})

	t.Run("non-root user", func(t *testing.T) {
		users := final.all("USER")
		if len(users) == 0 {
			t.Fatal("Dockerfile: the final stage has no USER: it would run as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1].args, ":")
		if user == "root" || user == "0" {
			t.Errorf("Dockerfile: USER %s: run as a non-root user", users[len(users)-1].args)
		}
	})

	t.Run("ports", func(t *testing.T) {
		want := configPorts(t, string(configBytes))
		env := final.env(t)
		var exposed []int
		for _, in := range final.all("EXPOSE") {
			for _, f := range strings.Fields(in.args) {
				p, err := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
				if err != nil {
					t.Errorf("Dockerfile:%d: EXPOSE %s: not a port", in.line, f)
					continue
				}
				exposed = append(exposed, p)
			}
			if len(in.comment) == 0 {
				t.Errorf("Dockerfile:%d: EXPOSE %s: say in a comment above what listens there", in.line, in.args)
			}
		}
		var wantPorts []int
		for name, p := range want {
			wantPorts = append(wantPorts, p)
			// The image's ENV moves listeners to all interfaces, on the same port.
			if strings.HasSuffix(name, "_ENDPOINT") {
				v, ok := env[name]
				if !ok {
					t.Errorf("Dockerfile: ENV %s is not set: the default listens on localhost only", name)
					continue
				}
				host, port, _ := strings.Cut(v, ":")
				if host != "0.0.0.0" || port != strconv.Itoa(p) {
					t.Errorf("Dockerfile: ENV %s=%s; want 0.0.0.0:%d (otelcol-config.yaml's port)", name, v, p)
				}
			}
			if strings.HasSuffix(name, "_PORT") {
				if v, ok := env[name]; ok && v != strconv.Itoa(p) {
					t.Errorf("Dockerfile: ENV %s=%s; EXPOSE and otelcol-config.yaml say %d", name, v, p)
				}
			}
		}
		slices.Sort(exposed)
		slices.Sort(wantPorts)
		if !slices.Equal(exposed, wantPorts) {
			t.Errorf("Dockerfile: EXPOSE %v; otelcol-config.yaml listens on %v", exposed, wantPorts)
		}

		// The Helm chart's container ports are the image's.
		var values struct {
			Ports map[string]struct {
				ContainerPort int `json:"containerPort"`
			} `json:"ports"`
		}
		b, err := os.ReadFile(filepath.Join(root, "deploy", "helm", "otelcol-wafermonitor", "values.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sigsyaml.Unmarshal(b, &values); err != nil {
			t.Fatalf("chart values.yaml: %v", err)
		}
		var chartPorts []int
		for _, p := range values.Ports {
			chartPorts = append(chartPorts, p.ContainerPort)
		}
		slices.Sort(chartPorts)
		if !slices.Equal(chartPorts, exposed) {
			t.Errorf("the Helm chart's ports %v differ from the Dockerfile's EXPOSE %v", chartPorts, exposed)
		}
	})

	t.Run("data volume", func(t *testing.T) {
		dir := final.env(t)["WAFERMONITOR_DATA_DIR"]
		if dir == "" {
			t.Fatal("Dockerfile: ENV WAFERMONITOR_DATA_DIR is not set: queues and files would go to ./data")
		}
		vols := final.all("VOLUME")
		if len(vols) == 0 || !strings.Contains(vols[0].args, `"`+dir+`"`) {
			t.Errorf("Dockerfile: VOLUME should be the data directory %s", dir)
		}
	})

	// The default config, with the image's environment, is a valid
	// configuration for the binary the image runs.
	t.Run("config validates with the image's environment", func(t *testing.T) {
		bin := testcollector.Binary(t)
		cmd := exec.Command(bin, "validate", "--config", filepath.Join(root, "otelcol-config.yaml"))
		cmd.Env = os.Environ()
		for k, v := range final.env(t) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("otelcol-config.yaml with the Dockerfile's ENV: %v\n%s", err, out)
		}
	})
}

// dockerIgnore returns a matcher for the .dockerignore patterns (without
// exceptions, which it does not use).
func dockerIgnore(t testing.TB, root string) func(string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if os.IsNotExist(err) {
		return func(string) bool { return false }
	}
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: %s: exceptions are not understood by this check", l)
		}
		patterns = append(patterns, strings.Trim(l, "/"))
	}
	return func(p string) bool {
		p = path.Clean(p)
		for _, pat := range patterns {
			for q := p; q != "." && q != "/"; q = path.Dir(q) {
				if ok, _ := path.Match(pat, q); ok {
					return true
				}
			}
		}
		return false
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("atoi %q: %v", s, err))
	}
	return n
}
