package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// remainingLogs copies the log records of items into new Logs.
func remainingLogs(ld plog.Logs, items []item) plog.Logs {
	out := plog.NewLogs()
	type pos struct{ r, s int }
	scopes := map[pos]plog.LogRecordSlice{}
	for _, it := range items {
		p := pos{it.resource, it.scope}
		records, ok := scopes[p]
		if !ok {
			src := ld.ResourceLogs().At(it.resource)
			rl := out.ResourceLogs().AppendEmpty()
			src.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(src.SchemaUrl())
			srcScope := src.ScopeLogs().At(it.scope)
			sl := rl.ScopeLogs().AppendEmpty()
			srcScope.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(srcScope.SchemaUrl())
			records = sl.LogRecords()
			scopes[p] = records
		}
		ld.ResourceLogs().At(it.resource).ScopeLogs().At(it.scope).LogRecords().At(it.index).CopyTo(records.AppendEmpty())
	}
	return out
}

// remainingTraces copies the spans of items into new Traces.
func remainingTraces(td ptrace.Traces, items []item) ptrace.Traces {
	out := ptrace.NewTraces()
	type pos struct{ r, s int }
	scopes := map[pos]ptrace.SpanSlice{}
	for _, it := range items {
		p := pos{it.resource, it.scope}
		spans, ok := scopes[p]
		if !ok {
			src := td.ResourceSpans().At(it.resource)
			rs := out.ResourceSpans().AppendEmpty()
			src.Resource().CopyTo(rs.Resource())
			rs.SetSchemaUrl(src.SchemaUrl())
			srcScope := src.ScopeSpans().At(it.scope)
			ss := rs.ScopeSpans().AppendEmpty()
			srcScope.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(srcScope.SchemaUrl())
			spans = ss.Spans()
			scopes[p] = spans
		}
		td.ResourceSpans().At(it.resource).ScopeSpans().At(it.scope).Spans().At(it.index).CopyTo(spans.AppendEmpty())
	}
	return out
}
