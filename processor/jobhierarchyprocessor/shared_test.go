package jobhierarchyprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
)

// One hierarchy serves the traces and the logs pipeline. Its state lives
// while either runs: restored at the first pipeline's Start, written at the
// last one's Shutdown, so what the logs pipeline still passes after the
// traces pipeline stopped is kept. Its periodic check, which sends into
// both, runs only while both run.
func TestStateWhileAnyPipelineRunsChecksWhileAllRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ext, host := startFileStorage(t, dir)
	first := newHarness(t, storageConfig(), host)
	assert.True(t, first.h.checking, "both pipelines run")
	require.NoError(t, first.traces.Shutdown(ctx))
	assert.False(t, first.h.checking, "stopped at the first pipeline's Shutdown")
	first.consumeLogs(startedAB())
	open := first.h.entities.len()
	require.Equal(t, 2, open)
	require.NoError(t, first.logs.Shutdown(ctx))
	require.NoError(t, first.mets.Shutdown(ctx)) // the harness's third pipeline, the last
	require.NoError(t, ext.Shutdown(ctx))

	ext, host = startFileStorage(t, dir)
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(ctx)) })
	cfg := storageConfig()
	f := NewFactory()
	traces, err := f.CreateTraces(ctx, processortestSettings(), cfg, new(consumertestTracesSink))
	require.NoError(t, err)
	logs, err := f.CreateLogs(ctx, processortestSettings(), cfg, new(consumertest.LogsSink))
	require.NoError(t, err)
	h := mustShared(t, cfg)
	require.NoError(t, traces.Start(ctx, host))
	assert.Equal(t, open, h.entities.len(), "restored at the first pipeline's Start, before its data")
	assert.False(t, h.checking, "the logs pipeline has not started")
	require.NoError(t, logs.Start(ctx, host))
	assert.True(t, h.checking)
	for _, p := range []component.Component{logs, traces} {
		require.NoError(t, p.Shutdown(ctx))
	}
}

// A processor that was never started is shut down with its last pipeline,
// and a configuration used again makes a new hierarchy.
func TestHierarchyForgottenWithItsLastPipeline(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	f := NewFactory()
	var made []processor.Traces
	for range 2 {
		p, err := f.CreateTraces(ctx, processortestSettings(), cfg, new(consumertestTracesSink))
		require.NoError(t, err)
		made = append(made, p)
	}
	h := mustShared(t, cfg)
	require.NoError(t, made[0].Shutdown(ctx))
	assert.Same(t, h, mustShared(t, cfg))
	require.NoError(t, made[1].Shutdown(ctx))
	_, ok := hierarchies.Load(cfg)
	assert.False(t, ok)
}
