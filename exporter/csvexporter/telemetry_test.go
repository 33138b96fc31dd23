package csvexporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadatatest"
)

func TestTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	dir := t.TempDir()
	cfg := testConfig(dir, FormatCSV)
	cfg.Events.Path = filepath.Join(dir, "ev_%Y%m%d.csv")
	cfg.Rotation.Compression = CompressionGzip
	e, err := newExporter(cfg, metadatatest.NewSettings(tt), outputEvents)
	require.NoError(t, err)
	clock := &fakeClock{t: day1}
	e.now = clock.Now
	ctx := context.Background()
	require.NoError(t, e.start(ctx, componenttest.NewNopHost()))

	// Three events on 19 October, then one on the 20th: the 19th's file is
	// closed once its day is over and it stayed idle for a tick.
	require.NoError(t, e.consumeLogs(ctx, toLogs(sampleEvents())))
	clock.Set(day1.Add(24 * time.Hour))
	e.writer.Unwrap().tick()
	e.writer.Unwrap().tick()
	settle(e.writer.Unwrap())
	assert.Equal(t, []string{"ev_20251019.csv.gz", "ev_20251020.csv"}, listDir(t, dir))

	// A file where the next period's file should be: that write fails.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "ev_20251021.csv"), 0o700))
	events := sampleEvents()[:1]
	events[0].at = day1.AddDate(0, 0, 2)
	require.Error(t, e.consumeLogs(ctx, toLogs(events)))
	// An event of the year 2000 goes to the day's out_of_range file.
	events[0].at = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, e.consumeLogs(ctx, toLogs(events)))
	assert.FileExists(t, filepath.Join(dir, "ev_20251020_out_of_range.csv"))
	require.NoError(t, e.shutdown(ctx))

	metadatatest.AssertEqualExporterCsvRows(t, tt, []metricdata.DataPoint[int64]{
		{Value: 5, Attributes: attribute.NewSet(attribute.String("output", "events"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterCsvRowsOutOfRange(t, tt, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterCsvFilesClosed(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.Bool("compressed", true))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualExporterCsvWriteErrors(t, tt, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
}
