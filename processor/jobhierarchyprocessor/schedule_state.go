package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// The schedules' state (a few hundred bytes a schedule) is stored whole
// under its own key, in the transaction of the check that changed it, with
// the codec of the other parts of the state.
const (
	schedulesKey        = "v2/schedules"
	scheduleStateFormat = 1
)

// stateOp is the write of the schedules' state when it changed since it was
// last taken; nil otherwise.
func (ss *schedules) stateOp() *storage.Operation {
	if ss == nil || !ss.dirty {
		return nil
	}
	ss.dirty = false
	return storage.SetOperation(schedulesKey, encodeSchedules(ss.list))
}

func encodeSchedules(list []*schedule) []byte {
	out := []byte{scheduleStateFormat}
	out = binary.AppendUvarint(out, uint64(len(list)))
	for _, s := range list {
		st := &s.st
		out = appendStrings(out, s.cfg.Name)
		out = binary.LittleEndian.AppendUint64(out, st.Fingerprint)
		for _, v := range []int64{st.Next, st.Missed, st.CounterStart, st.LastSuccess, st.LateSlot} {
			out = binary.AppendVarint(out, v)
		}
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(st.LateS))
		out = appendRun(out, st.Last)
		slots := make([]int64, 0, len(st.Runs))
		for slot := range st.Runs {
			slots = append(slots, slot)
		}
		slices.Sort(slots)
		out = binary.AppendUvarint(out, uint64(len(slots)))
		for _, slot := range slots {
			out = binary.AppendVarint(out, slot)
			out = appendRun(out, st.Runs[slot])
		}
		out = appendStringList(out, st.Recent)
	}
	return out
}

func appendRun(b []byte, r scheduleRun) []byte {
	b = appendStrings(b, r.JobID)
	b = binary.AppendVarint(b, r.Start)
	b = appendStringList(b, resourceFields(r.Res))
	return appendStrings(b, r.BusinessKey)
}

func (d *decoder) run() scheduleRun {
	r := scheduleRun{JobID: d.str("run job id"), Start: d.varint("run start")}
	r.Res = resourceOf(d.strings("run resource"))
	r.BusinessKey = d.str("run business key")
	return r
}

// decodeSchedules reads what encodeSchedules wrote, by schedule name.
func decodeSchedules(data []byte) (map[string]scheduleState, error) {
	if len(data) == 0 || data[0] != scheduleStateFormat {
		return nil, fmt.Errorf("%w: unknown format", errDamaged)
	}
	d := &decoder{b: data[1:]}
	out := map[string]scheduleState{}
	for n := d.count("schedules", 20); n > 0 && d.err == nil; n-- {
		name := d.str("schedule name")
		st := scheduleState{Fingerprint: d.u64("fingerprint"), Runs: map[int64]scheduleRun{}}
		st.Next, st.Missed, st.CounterStart = d.varint("next slot"), d.varint("missed"), d.varint("counter start")
		st.LastSuccess, st.LateSlot = d.varint("last success"), d.varint("late slot")
		st.LateS = math.Float64frombits(d.u64("late start"))
		st.Last = d.run()
		for r := d.count("runs", 5); r > 0 && d.err == nil; r-- {
			slot := d.varint("slot")
			st.Runs[slot] = d.run()
		}
		st.Recent = d.strings("recent runs")
		if d.err == nil && (name == "" || st.Missed < 0 || math.IsNaN(st.LateS)) {
			d.fail("schedule")
		}
		out[name] = st
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// restoreSchedules continues the stored schedules, those configured under
// the same name; the others start afresh. A state that cannot be read is
// logged and every schedule starts afresh.
func (h *hierarchy) restoreSchedules(ctx context.Context) error {
	ss := h.schedules
	if ss == nil {
		return nil
	}
	data, err := h.client.Get(ctx, schedulesKey)
	if err != nil {
		return fmt.Errorf("storage: reading the schedules' state: %w", err)
	}
	var stored map[string]scheduleState
	if data != nil {
		if stored, err = decodeSchedules(data); err != nil {
			h.logger.Warn("Skipping the damaged state of the schedules; they start afresh", zap.String("key", schedulesKey), zap.Error(err))
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	ss.beginAll(now)
	for _, s := range ss.list {
		st, ok := stored[s.cfg.Name]
		if !ok {
			continue
		}
		if skipped := s.resume(st, now); skipped > 0 {
			h.logger.Warn("More slots of a schedule passed while the collector was down than are checked after a start; the earliest were not checked",
				zap.String("schedule", s.cfg.Name), zap.Int("not_checked_at_least", skipped), zap.Int("checked", maxCatchUpSlots),
				zap.String("first_checked", slotText(s.st.Next)))
		}
	}
	return nil
}
