package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// picker walks records or spans in the order the push functions read them
// and tells which positions are kept (keep is ascending).
type picker struct {
	keep      []int
	pos, next int
}

func (p *picker) take() bool {
	ok := p.next < len(p.keep) && p.keep[p.next] == p.pos
	if ok {
		p.next++
	}
	p.pos++
	return ok
}

// logsSubset copies the records at the positions in keep, with their
// resource and scope: what the exporter helper retries.
func logsSubset(ld plog.Logs, keep []int) plog.Logs {
	out := plog.NewLogs()
	p := picker{keep: keep}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		var outRL *plog.ResourceLogs
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			var outSL *plog.ScopeLogs
			for k := 0; k < sl.LogRecords().Len(); k++ {
				if !p.take() {
					continue
				}
				if outRL == nil {
					r := out.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(r.Resource())
					r.SetSchemaUrl(rl.SchemaUrl())
					outRL = &r
				}
				if outSL == nil {
					s := outRL.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(s.Scope())
					s.SetSchemaUrl(sl.SchemaUrl())
					outSL = &s
				}
				sl.LogRecords().At(k).CopyTo(outSL.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}

// tracesSubset copies the spans at the positions in keep, with their
// resource and scope.
func tracesSubset(td ptrace.Traces, keep []int) ptrace.Traces {
	out := ptrace.NewTraces()
	p := picker{keep: keep}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		var outRS *ptrace.ResourceSpans
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			var outSS *ptrace.ScopeSpans
			for k := 0; k < ss.Spans().Len(); k++ {
				if !p.take() {
					continue
				}
				if outRS == nil {
					r := out.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(r.Resource())
					r.SetSchemaUrl(rs.SchemaUrl())
					outRS = &r
				}
				if outSS == nil {
					s := outRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(s.Scope())
					s.SetSchemaUrl(ss.SchemaUrl())
					outSS = &s
				}
				ss.Spans().At(k).CopyTo(outSS.Spans().AppendEmpty())
			}
		}
	}
	return out
}
