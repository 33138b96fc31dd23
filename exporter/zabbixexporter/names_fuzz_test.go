package zabbixexporter

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// FuzzNameTemplate: any host or item name template of the configuration is
// either refused with an error or renders without a panic.
func FuzzNameTemplate(f *testing.F) {
	for _, s := range []string{"${service.name}", "fab-${wafer.site.id}-x", "${", "}", "${}", "$${a}", "plain", "${a}${b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := parseNameTemplate(s)
		if err != nil {
			return
		}
		attrs := pcommon.NewMap()
		attrs.PutStr("service.name", "svc")
		_ = tpl.render(attrs, pcommon.NewMap())
	})
}
