package deploytest

import (
	"slices"
	"strings"
	"testing"
)

func TestScanPromQL(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		sels   []string
		labels []string
	}{
		{
			expr:   `sum by (a, b) (increase(x_total{l="v", m=~"p|q"}[15m])) > 0`,
			sels:   []string{`x_total{l="v", m=~"p|q"}`},
			labels: []string{"a", "b"},
		},
		{
			expr:   "up == 0 and on (job, instance) present_over_time(otelcol_process_uptime_seconds_total[1d])",
			sels:   []string{"up", "otelcol_process_uptime_seconds_total"},
			labels: []string{"job", "instance"},
		},
		{
			expr:   `{__name__=~"p_(a|b)_total", processor=~"m.*"} > 0 unless on (__name__, job) {__name__=~"p_(a|b)_total"} offset 15m`,
			sels:   []string{`{__name__=~"p_(a|b)_total", processor=~"m.*"}`, `{__name__=~"p_(a|b)_total"}`},
			labels: []string{"__name__", "job"},
		},
		{
			expr: `label_replace(rate(z[5m]), "signal", "{logs}", "", "")`,
			sels: []string{"z"},
		},
		{
			expr:   "time() - max by (schedule) (w > 0) > 26 * 3600",
			sels:   []string{"w"},
			labels: []string{"schedule"},
		},
		{
			expr:   "a / on (job) group_left (x) b offset 5m and c > bool 1e3",
			sels:   []string{"a", "b", "c"},
			labels: []string{"job", "x"},
		},
		{
			expr:   "predict_linear(q[30m:1m], 3600) > ignoring (le) group_right r # a comment: s{",
			sels:   []string{"q", "r"},
			labels: []string{"le"},
		},
		{
			expr: `sum without (x) (rate(m{a!="b", c!~'d\'e'}[5m]))`,
			sels: []string{`m{a!="b", c!~'d\'e'}`}, labels: []string{"x"},
		},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			sels, labels, err := scanPromQL(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sels {
				got = append(got, s.String())
			}
			if !slices.Equal(got, tc.sels) {
				t.Errorf("selectors %q, want %q", got, tc.sels)
			}
			if !slices.Equal(labels, tc.labels) {
				t.Errorf("labels %q, want %q", labels, tc.labels)
			}
		})
	}
	for _, bad := range []string{`x{a="b"`, `x{a=b}`, `x{a=="b"}`, `rate(x[5m)`, `x{a="b}`, `sum by (a b`, `x ! y`} {
		if _, _, err := scanPromQL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSelectorMetricNames(t *testing.T) {
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{`x_total{a="b"}`, []string{"x_total"}},
		{`{__name__="y", a="b"}`, []string{"y"}},
		{`{__name__=~"p_(log_records|spans|metric_points)_total"}`, []string{"p_log_records_total", "p_spans_total", "p_metric_points_total"}},
		{`{__name__=~"a|b"}`, []string{"a", "b"}},
	} {
		sels, _, err := scanPromQL(tc.sel)
		if err != nil || len(sels) != 1 {
			t.Fatalf("%s: %v %v", tc.sel, sels, err)
		}
		got, err := sels[0].metricNames()
		if err != nil {
			t.Fatalf("%s: %v", tc.sel, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.sel, got, tc.want)
		}
		for _, name := range got {
			if s := sels[0].withName(name).String(); strings.Contains(s, "__name__") || !strings.HasPrefix(s, name) {
				t.Errorf("%s: withName(%s) = %s", tc.sel, name, s)
			}
		}
	}
	for _, bad := range []string{`{__name__=~"x.*"}`, `{__name__!="x"}`, `{a="b"}`} {
		sels, _, err := scanPromQL(bad)
		if err != nil {
			t.Fatal(err)
		}
		if names, err := sels[0].metricNames(); err == nil {
			t.Errorf("%s: names %q, want an error", bad, names)
		}
	}
}
