package jobhierarchyprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The ids a client sent that were not UUIDs.
const (
	jobSent = "LOT-4711-run"
	subSent = "wafer-07"
)

func putOriginals(attrs pcommon.Map, id, parent string) {
	if id != "" {
		attrs.PutStr(semconv.AttrEntityIDOriginal, id)
	}
	if parent != "" {
		attrs.PutStr(semconv.AttrParentIDOriginal, parent)
	}
}

// originalsOf are the synthetic records' kinds with the ids they carry as
// the client sent them.
func originalsOf(records []plog.LogRecord) map[string]entity.Ref {
	out := map[string]entity.Ref{}
	for _, lr := range records {
		v := entity.Of(lr.Attributes())
		ref := v.Ref()
		out[v.Kind()+" "+ref.ID] = entity.Ref{IDOriginal: ref.IDOriginal, ParentIDOriginal: ref.ParentIDOriginal}
	}
	return out
}

// TestSyntheticEventsCarryOriginalIDs: the processor's own records and
// spans about an entity carry the ids its client sent, as the entity's own
// records do, also after a restart.
func TestSyntheticEventsCarryOriginalIDs(t *testing.T) {
	t.Run("stalled, orphan_subjobs and timeout across a restart", func(t *testing.T) {
		cfg := storageConfig()
		cfg.Watchdog.StallTimeout = 15 * time.Minute
		client := newMemClient()
		first := newStoredHarness(t, cfg, client, base)
		ld := started(semconv.EntityTypeSubjob, subA1, jobA, base)
		putOriginals(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), subSent, jobSent)
		first.consumeLogs(ld)
		td := jobBSubjobs()
		putOriginals(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes(), "", "LOT-4712-run")
		first.consumeTraces(td)
		first.tick()

		second := newStoredHarness(t, c2(cfg), client.crashCopy(), first.clock.now())
		second.clock.advance(15 * time.Minute)
		second.tick()
		assert.Equal(t, map[string]entity.Ref{
			"stalled " + subA1:       {IDOriginal: subSent, ParentIDOriginal: jobSent},
			"orphan_subjobs " + jobB: {IDOriginal: "LOT-4712-run"},
		}, originalsOf(syntheticRecords(second.allLogs())))

		second.lsink.Reset()
		second.clock.advance(45 * time.Minute)
		second.tick()
		assert.Equal(t, map[string]entity.Ref{"timeout " + subA1: {IDOriginal: subSent, ParentIDOriginal: jobSent}},
			originalsOf(syntheticRecords(second.allLogs())))
		span := jobSpanOf(second.allTraces(), subA1)
		assert.Equal(t, entity.Ref{IDOriginal: subSent, ParentIDOriginal: jobSent},
			entity.Ref{IDOriginal: entity.Of(span.Attributes()).IDOriginal(), ParentIDOriginal: entity.Of(span.Attributes()).ParentIDOriginal()})
	})

	t.Run("late_subjobs", func(t *testing.T) {
		hs := newHarness(t, testConfig(), nil)
		td := onlyJobA()
		putOriginals(jobSpanOf(td, jobA).Attributes(), jobSent, "")
		hs.consumeTraces(td)
		hs.consumeTraces(lateSubjobOfA())
		hs.tick()
		assert.Equal(t, map[string]entity.Ref{"late_subjobs " + jobA: {IDOriginal: jobSent}}, originalsOf(syntheticRecords(hs.allLogs())))
	})
}

// TestOriginalsAreStored: the extras written at the end of a stored part
// come back, and a part written before they existed reads as it did.
func TestOriginalsAreStored(t *testing.T) {
	b := &stateBatch{gen: 1, writtenAt: base.UnixNano()}
	b.addEntity(&openEntity{Type: semconv.EntityTypeSubjob, ID: subA1, ParentID: jobA, Sent: newSentIDs(subSent, jobSent), Opened: 1, LastSeen: 1}, classSubjob)
	b.addEntity(&openEntity{Type: semconv.EntityTypeJob, ID: jobB, Opened: 1, LastSeen: 1}, classJob)
	b.summaries = append(b.summaries, &jobSummary{JobID: jobA, JobIDOriginal: jobSent}, &jobSummary{JobID: jobB})
	b.summaryCls = append(b.summaryCls, classReported, classOrphan)
	b.replaceSummary = append(b.replaceSummary, true, true)
	b.newIDs = append(b.newIDs, nil, nil)
	data := encodeBatch(b)
	got, err := decodeBatch(data)
	require.NoError(t, err)
	assert.Equal(t, []string{subSent, jobSent}, entityExtras(got.entities[0], nil))
	assert.Equal(t, []string{"", ""}, entityExtras(got.entities[1], nil))
	assert.Equal(t, jobSent, got.summaries[0].JobIDOriginal)

	b.entities[0].Sent, b.summaries[0].JobIDOriginal = nil, ""
	older := encodeBatch(b)
	require.Equal(t, []byte{0, 0}, older[len(older)-2:], "no extras: two empty counts")
	got, err = decodeBatch(older[:len(older)-2])
	require.NoError(t, err, "a part of the format before the extras")
	assert.Len(t, got.entities, 2)
	assert.Nil(t, got.entities[0].Sent)
}
