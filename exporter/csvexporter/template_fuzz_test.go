package csvexporter

import (
	"path/filepath"
	"testing"
	"time"
)

// FuzzPathTemplate: every file path the configuration accepts parses
// without a panic; the names it gives any hour, and the hour's out_of_range
// file, are matched by the pattern that finds the files of the template
// again (rotation, clean-up), and retention reads back from them the end of
// the hour's period when the template names one.
func FuzzPathTemplate(f *testing.F) {
	for _, s := range []string{"./data/wafer_events_%Y%m%d.csv", "/var/log/x_%H%%.jsonl", "a/b", "%Y", ".%m", "x.tar.gz", "a/%Y/b", "q%"} {
		f.Add(s, int64(1767225600))
	}
	f.Fuzz(func(t *testing.T, path string, unix int64) {
		if checkTemplate(path) != nil {
			return
		}
		tpl := parseTemplate(path)
		at := time.Unix(unix%(1<<34), 0).UTC()
		if at.Year() > 9999 || at.Year() < 1000 {
			return
		}
		name := tpl.resolve(at) + tpl.ext
		if filepath.Base(name) != name {
			t.Fatalf("template %q resolves to %q, not a file name", path, name)
		}
		for _, n := range []string{name, tpl.resolve(at) + outOfRangeSuffix + "-3" + tpl.ext + gzipSuffix} {
			m := tpl.all.FindStringSubmatch(n)
			if m == nil {
				t.Fatalf("template %q: %q (for %s) not matched by %s", path, n, at, tpl.all)
			}
			if end, ok := periodEndOf(tpl.tokens, m[1:], time.UTC); ok && !end.Equal(tpl.unit.end(at)) {
				t.Fatalf("template %q: %q read back as a period ending %s, want %s", path, n, end, tpl.unit.end(at))
			}
		}
	})
}

func FuzzParsePermissions(f *testing.F) {
	for _, s := range []string{"0750", "0640", "777", "0", "1777", "-1", "0o750", "8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parsePermissions("file_permissions", s)
		if err == nil && (v == 0 || v&^0o777 != 0) {
			t.Fatalf("%q accepted as %o", s, v)
		}
	})
}
