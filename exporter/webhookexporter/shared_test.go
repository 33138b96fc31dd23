package webhookexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// bigKey makes every dead-lettered request about 50 KiB.
var bigKey = strings.Repeat("k", 50<<10)

func bigEvent(i int) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(fixedNow))
	a := lr.Attributes()
	a.PutStr(semconv.AttrEntityType, semconv.EntityTypeJob)
	a.PutStr(semconv.AttrEntityID, fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", i))
	a.PutStr(semconv.AttrBusinessKey, bigKey)
	a.PutStr(semconv.AttrEventKind, semconv.KindStarted)
	a.PutStr(semconv.AttrIdempotencyKey, fmt.Sprintf("started-%d", i))
	return logs
}

func bigEntity(i int) ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(fixedNow.Add(-time.Minute)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(fixedNow))
	a := span.Attributes()
	a.PutStr(semconv.AttrEntityType, semconv.EntityTypeJob)
	a.PutStr(semconv.AttrEntityID, fmt.Sprintf("b1b2c3d4-0000-4000-8000-%012d", i))
	a.PutStr(semconv.AttrBusinessKey, bigKey)
	return traces
}

// A webhook in the logs and the traces pipeline (the cloudevents format
// takes both) dead-letters into one file through one writer: each signal's
// rejections alone (600 KiB) stay under max_size_mb, together (1.2 MiB)
// they rotate the file exactly once, and no entry is lost.
func TestDeadLetterSharedByPipelines(t *testing.T) {
	rec := newRecorder(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
	dir := t.TempDir()
	path := filepath.Join(dir, "dead.jsonl")
	cfg := configFor(rec.URL)
	cfg.Format = FormatCloudEvents
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.DeadLetter = DeadLetterConfig{Path: path, MaxSizeMB: 1, MaxBackups: 5}
	require.NoError(t, cfg.Validate())
	f := NewFactory()
	ctx := context.Background()
	logs, err := f.CreateLogs(ctx, newSettings(), cfg)
	require.NoError(t, err)
	traces, err := f.CreateTraces(ctx, newSettings(), cfg)
	require.NoError(t, err)
	for _, c := range []component.Component{logs, traces} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	const each = 12
	for i := range each {
		err := logs.ConsumeLogs(ctx, bigEvent(i))
		require.True(t, consumererror.IsPermanent(err), "%v", err)
		err = traces.ConsumeTraces(ctx, bigEntity(i))
		require.True(t, consumererror.IsPermanent(err), "%v", err)
	}
	require.NoError(t, logs.Shutdown(ctx))
	require.NoError(t, traces.Shutdown(ctx))

	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{path, path + ".1"}, files, "rotated once")
	types := map[string]int{}
	for _, f := range []string{path + ".1", path} {
		info, err := os.Stat(f)
		require.NoError(t, err)
		assert.LessOrEqual(t, info.Size(), int64(1<<20), f)
		for _, e := range readDeadLetters(t, f) {
			var ce struct {
				Type string `json:"type"`
			}
			require.NoError(t, json.Unmarshal(e.Payload, &ce))
			types[ce.Type]++
		}
	}
	assert.Equal(t, map[string]int{"com.wafermonitor.job.started": each, "com.wafermonitor.job.completed": each}, types)
}

// Two webhooks may name one dead-letter file (also spelt differently) if
// they rotate it alike; otherwise the second one does not start, and says why.
func TestDeadLetterPathNamedTwice(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	host := componenttest.NewNopHost()
	a, err := acquireDeadLetter(ctx, host, DeadLetterConfig{Path: filepath.Join(dir, "dead.jsonl"), MaxSizeMB: 1})
	require.NoError(t, err)
	b, err := acquireDeadLetter(ctx, host, DeadLetterConfig{Path: "./dead.jsonl", MaxSizeMB: 1})
	require.NoError(t, err)
	assert.Same(t, a.Unwrap(), b.Unwrap())
	_, err = acquireDeadLetter(ctx, host, DeadLetterConfig{Path: "dead.jsonl", MaxSizeMB: 2})
	require.ErrorContains(t, err, "dead_letter::path: dead.jsonl is already the dead-letter file of another webhook exporter")

	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, b.Unwrap().write(deadLetterEntry{Error: "still open", Payload: json.RawMessage(`{}`)}))
	require.NoError(t, b.Shutdown(ctx))
	assert.Equal(t, "still open", readDeadLetters(t, filepath.Join(dir, "dead.jsonl"))[0].Error)
	_, open := deadLetters.Load(filepath.Join(dir, "dead.jsonl"))
	assert.False(t, open, "closed with its last user")
}
