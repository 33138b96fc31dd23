package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A CPU profile read through `go tool pprof -raw`, the Go toolchain's own
// reader of the profile format, so that the harness needs no profile
// library: samples as stacks of function names, innermost first.
type cpuSamples struct {
	total int64 // CPU nanoseconds
	// stacks of function names, innermost first, with the CPU time of each.
	stacks []weightedStack
}

type weightedStack struct {
	value int64
	funcs []string
}

// readCPUProfiles reads and merges CPU profiles.
func readCPUProfiles(ctx context.Context, paths ...string) (*cpuSamples, error) {
	all := &cpuSamples{}
	for _, p := range paths {
		out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-symbolize=none", "-raw", p).Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec's own error type
				stderr = string(ee.Stderr)
			}
			return nil, fmt.Errorf("go tool pprof -raw %s: %w: %s", p, err, stderr)
		}
		s, err := parseRawProfile(out, "cpu")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all.total += s.total
		all.stacks = append(all.stacks, s.stacks...)
	}
	return all, nil
}

var locationRE = regexp.MustCompile(`^\s*(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(?:\[F\] )?(.*)$`)

// parseRawProfile reads pprof's -raw text: the column of sample type
// valueType of each sample, and the function of each location's lines.
func parseRawProfile(raw []byte, valueType string) (*cpuSamples, error) {
	type rawSample struct {
		value int64
		locs  []string
	}
	var (
		section  string
		column   = -1
		samples  []rawSample
		locFuncs = map[string][]string{}
		lastLoc  string
	)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch line {
		case "Samples:", "Locations", "Mappings":
			section = line
			continue
		}
		switch section {
		case "Samples:":
			if column < 0 { // the header: "samples/count cpu/nanoseconds"
				for i, f := range strings.Fields(line) {
					if strings.HasPrefix(f, valueType+"/") {
						column = i
					}
				}
				if column < 0 {
					return nil, fmt.Errorf("no %s values in the profile (sample types: %s)", valueType, line)
				}
				continue
			}
			values, locs, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "\t") {
				continue // a label line
			}
			f := strings.Fields(values)
			if column >= len(f) {
				return nil, fmt.Errorf("sample line %q has no column %d", line, column)
			}
			v, err := strconv.ParseInt(f[column], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("sample line %q: %w", line, err)
			}
			samples = append(samples, rawSample{value: v, locs: strings.Fields(locs)})
		case "Locations":
			rest := strings.TrimLeft(line, " ")
			if m := locationRE.FindStringSubmatch(line); m != nil {
				lastLoc, rest = m[1], m[2]
			}
			if lastLoc != "" && rest != "" {
				locFuncs[lastLoc] = append(locFuncs[lastLoc], functionName(rest))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if column < 0 {
		return nil, fmt.Errorf("not a profile in pprof's -raw form")
	}
	out := &cpuSamples{}
	for _, s := range samples {
		var funcs []string
		for _, l := range s.locs {
			funcs = append(funcs, locFuncs[l]...)
		}
		out.total += s.value
		out.stacks = append(out.stacks, weightedStack{value: s.value, funcs: funcs})
	}
	return out, nil
}

// functionName is the name in a location line "NAME FILE:LINE:COL s=START";
// a Go name may hold spaces (generic shapes), a file name does not.
func functionName(rest string) string {
	if i := strings.LastIndex(rest, " s="); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ' '); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// funcShare is a function's share of the CPU time, in percent.
type funcShare struct {
	name      string
	flat, cum float64
}

// shares is the flat (innermost) and cumulative share of every function.
func (s *cpuSamples) shares() map[string]*funcShare {
	out := map[string]*funcShare{}
	if s.total == 0 {
		return out
	}
	for _, st := range s.stacks {
		pct := 100 * float64(st.value) / float64(s.total)
		seen := map[string]bool{}
		for i, f := range st.funcs {
			fs := out[f]
			if fs == nil {
				fs = &funcShare{name: f}
				out[f] = fs
			}
			if i == 0 {
				fs.flat += pct
			}
			if !seen[f] {
				seen[f] = true
				fs.cum += pct
			}
		}
	}
	return out
}

// share is the percentage of CPU time whose stacks hold a function matching re.
func (s *cpuSamples) share(re *regexp.Regexp) float64 {
	if s.total == 0 {
		return 0
	}
	var v int64
	for _, st := range s.stacks {
		for _, f := range st.funcs {
			if re.MatchString(f) {
				v += st.value
				break
			}
		}
	}
	return 100 * float64(v) / float64(s.total)
}

// Frames that every request or goroutine passes through: listed by
// cumulative share they say nothing.
var rootFrameRE = regexp.MustCompile(`^runtime\.(goexit|main|mcall|systemstack|mstart.*|morestack|newstack)$|^net/http\.|otelhttp|/confighttp\.|^main\.|^go\.opentelemetry\.io/collector/(otelcol|service)\.`)

// topFlat and topCum are the n functions with the largest flat and
// cumulative shares; in topCum, a function with the same share as the one
// listed before it (a wrapper of it) is left out.
func topFlat(sh map[string]*funcShare, n int) []funcShare {
	return top(sh, n, func(f *funcShare) float64 { return f.flat }, func(*funcShare) bool { return false })
}

func topCum(sh map[string]*funcShare, n int) []funcShare {
	list := top(sh, 4*n, func(f *funcShare) float64 { return f.cum }, func(f *funcShare) bool { return rootFrameRE.MatchString(f.name) })
	var out []funcShare
	for _, f := range list {
		if len(out) > 0 && out[len(out)-1].cum-f.cum < 0.05 {
			continue
		}
		out = append(out, f)
		if len(out) == n {
			break
		}
	}
	return out
}

func top(sh map[string]*funcShare, n int, key func(*funcShare) float64, skip func(*funcShare) bool) []funcShare {
	list := make([]funcShare, 0, len(sh))
	for _, f := range sh {
		if !skip(f) {
			list = append(list, *f)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if a, b := key(&list[i]), key(&list[j]); a != b {
			return a > b
		}
		return list[i].name < list[j].name
	})
	return list[:min(n, len(list))]
}

// shortName drops a function's import path but for its last element (and
// the one before a last element that does not name the package, such as
// "go" or "v2") and generic shapes: "go.etcd.io/bbolt.(*Tx).Commit" is
// "bbolt.(*Tx).Commit".
func shortName(name string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(name); i++ {
		switch {
		case depth == 0 && strings.HasPrefix(name[i:], "[go.shape."):
			depth = 1
			b.WriteString("[…]")
			i += len("[go.shape.") - 1
		case depth > 0 && name[i] == '[':
			depth++
		case depth > 0 && name[i] == ']':
			depth--
		case depth == 0:
			b.WriteByte(name[i])
		}
	}
	s := b.String()
	end := len(s)
	if i := strings.IndexByte(s, '('); i >= 0 {
		end = i
	}
	i := strings.LastIndexByte(s[:end], '/')
	if i < 0 {
		return s
	}
	if pkg, _, _ := strings.Cut(s[i+1:], "."); pkg == "go" || versionRE.MatchString(pkg) {
		if j := strings.LastIndexByte(s[:i], '/'); j >= 0 {
			i = j
		}
	}
	return s[i+1:]
}

var versionRE = regexp.MustCompile(`^v[0-9]+$`)
