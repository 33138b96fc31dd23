package csvexporter

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"
)

// v1Records posts the v1 sample bodies (testdata/v1) to a real wafermonitor
// receiver whose logs and traces go through a real jobhierarchy processor,
// as in the shipped configuration, and returns what reaches the exporter:
// one plog.Logs per event request and one ptrace.Traces per request with
// terminal events (job spans carry the processor's roll-ups).
func v1Records(tb testing.TB) ([]plog.Logs, []ptrace.Traces) {
	tb.Helper()
	ctx := context.Background()
	logsSink, tracesSink := new(consumertest.LogsSink), new(consumertest.TracesSink)

	pf := jobhierarchyprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig()
	pset := processortest.NewNopSettings(pf.Type())
	lp, err := pf.CreateLogs(ctx, pset, pcfg, logsSink)
	require.NoError(tb, err)
	tp, err := pf.CreateTraces(ctx, pset, pcfg, tracesSink)
	require.NoError(tb, err)
	mp, err := pf.CreateMetrics(ctx, pset, pcfg, consumertest.NewNop())
	require.NoError(tb, err)

	rf := wafermonitorreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*wafermonitorreceiver.Config)
	rcfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(tb))
	rset := receivertest.NewNopSettings(rf.Type())
	lr, err := rf.CreateLogs(ctx, rset, rcfg, lp)
	require.NoError(tb, err)
	tr, err := rf.CreateTraces(ctx, rset, rcfg, tp)
	require.NoError(tb, err)
	mr, err := rf.CreateMetrics(ctx, rset, rcfg, mp)
	require.NoError(tb, err)

	components := []component.Component{lp, tp, mp, lr, tr, mr}
	host := componenttest.NewNopHost()
	for _, c := range components {
		require.NoError(tb, c.Start(ctx, host))
	}
	defer func() {
		for i := len(components) - 1; i >= 0; i-- {
			require.NoError(tb, components[i].Shutdown(ctx))
		}
	}()

	for _, p := range samplePayloads {
		body, err := os.ReadFile(filepath.Join("testdata", "v1", p.file))
		require.NoError(tb, err)
		resp, err := http.Post("http://"+rcfg.Endpoint+p.path, "application/json", bytes.NewReader(body))
		require.NoError(tb, err)
		require.NoError(tb, resp.Body.Close())
		require.Less(tb, resp.StatusCode, 300, "%s answered %s", p.file, resp.Status)
	}
	logs, traces := logsSink.AllLogs(), tracesSink.AllTraces()
	require.NotEmpty(tb, logs)
	require.NotEmpty(tb, traces)
	return logs, traces
}
