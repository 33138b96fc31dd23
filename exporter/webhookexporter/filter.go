package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import "slices"

// matches reports whether an item passes the filters: no filters, or at
// least one filter whose every non-empty list holds the item's value.
func matches(filters []FilterConfig, f facts) bool {
	if len(filters) == 0 {
		return true
	}
	for i := range filters {
		if filters[i].match(f) {
			return true
		}
	}
	return false
}

func (fc *FilterConfig) match(f facts) bool {
	in := func(values []string, v string) bool { return len(values) == 0 || slices.Contains(values, v) }
	return in(fc.EventKinds, f.kind) &&
		in(fc.Outcomes, f.outcome) &&
		in(fc.Statuses, f.status) &&
		in(fc.EntityTypes, f.entityType) &&
		in(fc.Sites, f.site) &&
		(len(fc.Apps) == 0 || slices.Contains(fc.Apps, f.appName) || (f.appID != "" && slices.Contains(fc.Apps, f.appID)))
}
