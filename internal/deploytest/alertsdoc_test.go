package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestAlertsDoc: docs/alerts.md's table of alerts has a row for every alert
// of the rules file and no other, with its severity and every metric the
// rule reads.
func TestAlertsDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	row := regexp.MustCompile("(?m)^\\| `([A-Z][A-Za-z0-9]+)` \\|(.*)\\|$")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = strings.Split(m[2], "|")
	}
	var alerts []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			cells, ok := rows[r.Alert]
			if !ok {
				t.Errorf("docs/alerts.md has no row for %s", r.Alert)
				continue
			}
			if len(cells) != 3 {
				t.Errorf("docs/alerts.md, %s: %d cells, want severity, when, reads", r.Alert, len(cells))
				continue
			}
			if got := strings.TrimSpace(cells[0]); got != r.Labels["severity"] {
				t.Errorf("docs/alerts.md, %s: severity %q, the rule's is %q", r.Alert, got, r.Labels["severity"])
			}
			sels, _, err := scanPromQL(r.Expr)
			if err != nil {
				t.Fatalf("%s: %v", r.Alert, err)
			}
			for _, sel := range sels {
				names, err := sel.metricNames()
				if err != nil {
					t.Fatalf("%s: %v", r.Alert, err)
				}
				for _, name := range names {
					if !strings.Contains(cells[2], "`"+name) {
						t.Errorf("docs/alerts.md, %s: the series it reads do not list %s", r.Alert, name)
					}
				}
			}
		}
	}
	for name := range rows {
		if !slices.Contains(alerts, name) {
			t.Errorf("docs/alerts.md lists %s, which is not in the rules file", name)
		}
	}
}
