package zabbixexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestLogsSubset(t *testing.T) {
	ld := plog.NewLogs()
	for _, res := range []string{"r0", "r1"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("res", res)
		for _, scope := range []string{"s0", "s1"} {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(scope)
			for _, rec := range []string{"a", "b"} {
				sl.LogRecords().AppendEmpty().Body().SetStr(res + scope + rec)
			}
		}
	}
	out := logsSubset(ld, []int{1, 2, 7})
	var got []string
	for i := 0; i < out.ResourceLogs().Len(); i++ {
		rl := out.ResourceLogs().At(i)
		res, _ := rl.Resource().Attributes().Get("res")
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				got = append(got, res.Str()+"/"+sl.Scope().Name()+"/"+sl.LogRecords().At(k).Body().Str())
			}
		}
	}
	assert.Equal(t, []string{"r0/s0/r0s0b", "r0/s1/r0s1a", "r1/s1/r1s1b"}, got)
	assert.Equal(t, 8, ld.LogRecordCount(), "the original is left as it was")
	assert.Equal(t, 0, logsSubset(ld, nil).LogRecordCount())
}

func TestTracesSubset(t *testing.T) {
	td := ptrace.NewTraces()
	for _, res := range []string{"r0", "r1"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("res", res)
		ss := rs.ScopeSpans().AppendEmpty()
		for _, name := range []string{"a", "b"} {
			ss.Spans().AppendEmpty().SetName(res + name)
		}
	}
	out := tracesSubset(td, []int{0, 3})
	assert.Equal(t, 2, out.ResourceSpans().Len())
	assert.Equal(t, "r0a", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
	assert.Equal(t, "r1b", out.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).Name())
	res, _ := out.ResourceSpans().At(1).Resource().Attributes().Get("res")
	assert.Equal(t, "r1", res.Str())
}
