package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"encoding/json"
	"sort"
)

// lldRow is one entry of the discovery value.
type lldRow struct {
	Site string `json:"{#SITE}"`
	App  string `json:"{#APP}"`
	Job  string `json:"{#JOB}"`
	Type string `json:"{#TYPE}"`
}

// announcement is the discovery value for host: every job type it knows,
// so that Zabbix keeps all of their items, and those job types.
func (j *jobTypes) announcement(host string) (string, []jobType) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := j.hosts[host]
	if h == nil {
		return "[]", nil
	}
	rows := make([]jobType, 0, len(h.rows))
	for r := range h.rows {
		if !r.legacy {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, k int) bool { return lessJobType(rows[i], rows[k]) })
	out := make([]lldRow, len(rows))
	for i, r := range rows {
		out[i] = lldRow{Site: r.site, App: r.app, Job: r.job, Type: r.entityType}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b), rows
}
