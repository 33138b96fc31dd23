package wafermonitorreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

func nopTelemetry(t testing.TB) *metadata.TelemetryBuilder {
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	return tb
}

// recordCollect counts events at now and collects what they updated, as an
// emission right after them would.
func (cm *cumulativeMetrics) recordCollect(c *converter, events []event, now time.Time) pmetric.Metrics {
	cm.record(events, now)
	md, _ := cm.collect(c, now)
	return md
}
