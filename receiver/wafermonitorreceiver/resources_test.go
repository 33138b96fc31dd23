package wafermonitorreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

func TestResourceIndex(t *testing.T) {
	a, b, c := entity.Resource{SiteID: "a"}, entity.Resource{SiteID: "b"}, entity.Resource{SiteID: "a", ServiceName: "c"}
	var x resourceIndex[int]
	steps := []struct {
		key   entity.Resource
		found bool
		want  int
	}{
		{a, false, 1}, {a, true, 1}, {b, false, 2}, {a, true, 1}, {c, false, 3}, {b, true, 2}, {c, true, 3}, {a, true, 1},
	}
	for i, s := range steps {
		got, ok := x.get(s.key)
		require.Equal(t, s.found, ok, "step %d", i)
		if !ok {
			x.put(s.key, s.want)
			continue
		}
		assert.Equal(t, s.want, got, "step %d", i)
	}
}

// Events of several apps, interleaved, go under one resource each, in the
// order the apps first appear, with their events in request order.
func TestConvertGroupsByResource(t *testing.T) {
	var events []event
	for i, app := range []string{"a", "b", "a", "c", "b", "a"} {
		events = append(events, event{
			SiteID: "s", AppName: app, EntityType: semconv.EntityTypeJob, Kind: semconv.KindFinished,
			Status: semconv.StatusSucceeded, BusinessKey: string(rune('0' + i)), At: receiveTime, Start: receiveTime,
		})
	}
	c := converter{version: "test"}
	logs := c.toLogs(events, receiveTime)
	traces, n := c.toTraces(events)
	require.Equal(t, 6, n)
	want := map[string][]string{"a": {"0", "2", "5"}, "b": {"1", "4"}, "c": {"3"}}
	require.Equal(t, 3, logs.ResourceLogs().Len())
	require.Equal(t, 3, traces.ResourceSpans().Len())
	for i, app := range []string{"a", "b", "c"} {
		rl, rs := logs.ResourceLogs().At(i), traces.ResourceSpans().At(i)
		name, _ := rl.Resource().Attributes().Get(semconv.AttrServiceName)
		assert.Equal(t, app, name.Str())
		name, _ = rs.Resource().Attributes().Get(semconv.AttrServiceName)
		assert.Equal(t, app, name.Str())
		records, spans := rl.ScopeLogs().At(0).LogRecords(), rs.ScopeSpans().At(0).Spans()
		require.Equal(t, len(want[app]), records.Len())
		require.Equal(t, len(want[app]), spans.Len())
		for j, key := range want[app] {
			k, _ := records.At(j).Attributes().Get(semconv.AttrBusinessKey)
			assert.Equal(t, key, k.Str())
			k, _ = spans.At(j).Attributes().Get(semconv.AttrBusinessKey)
			assert.Equal(t, key, k.Str())
		}
	}
}
