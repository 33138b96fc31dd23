package wafermonitorreceiver

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wafermonitor/wafermonitor/internal/statustest"
	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// createAll creates the receiver of cfg for the logs, traces and metrics
// pipelines, as the collector does when all three name it.
func createAll(t *testing.T, cfg *Config) []component.Component {
	t.Helper()
	f := NewFactory()
	set := receivertest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	lr, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	tr, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mr, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	return []component.Component{lr, tr, mr}
}

func listening(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// One listener serves the three pipelines, only while all of them run:
// from the last pipeline's Start to the first one's Shutdown.
func TestOneListenerWhileEveryPipelineRuns(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(t))
	users := createAll(t, cfg)
	ctx := context.Background()
	host := componenttest.NewNopHost()
	require.NoError(t, users[0].Start(ctx, host))
	require.NoError(t, users[1].Start(ctx, host))
	assert.False(t, listening(cfg.Endpoint), "the metrics pipeline has not started")
	require.NoError(t, users[2].Start(ctx, host))
	assert.True(t, listening(cfg.Endpoint))
	require.NoError(t, users[1].Shutdown(ctx))
	assert.False(t, listening(cfg.Endpoint), "the traces pipeline stopped")
	require.NoError(t, users[0].Shutdown(ctx))
	require.NoError(t, users[2].Shutdown(ctx))
}

// A receiver that cannot listen fails every pipeline it serves.
func TestFailedListenReachesEveryPipeline(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = busy.Addr().String()
	users := createAll(t, cfg)
	ctx := context.Background()
	var hosts []*statustest.Host
	for i, u := range users {
		h := statustest.NewHost()
		hosts = append(hosts, h)
		err := u.Start(ctx, h)
		if i < len(users)-1 {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, "cannot listen")
		}
	}
	for i, h := range hosts {
		assert.Contains(t, h.Statuses(), componentstatus.StatusPermanentError, "pipeline %d", i)
	}
	for _, u := range users {
		require.NoError(t, u.Shutdown(ctx))
	}
}
