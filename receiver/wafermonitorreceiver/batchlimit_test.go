package wafermonitorreceiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchLimit(t *testing.T) {
	tests := []struct {
		name string
		body string
		code int // 0: accepted
	}{
		{"at the limit", `[{},{},{}]`, http.StatusUnprocessableEntity},
		{"over the limit", `[{},{},{},{}]`, http.StatusRequestEntityTooLarge},
		{"events object over the limit", `{"events":[1,2,3,4]}`, http.StatusRequestEntityTooLarge},
		{"a repeated events key: the first is over", `{"events":[1,2,3,4,5],"events":[]}`, http.StatusRequestEntityTooLarge},
		{"a repeated events key: the last is over", `{"events":[],"events":[1,2,3,4,5]}`, http.StatusRequestEntityTooLarge},
		{"an escaped events key", `{"\u0065vents":[1,2,3,4]}`, http.StatusRequestEntityTooLarge},
		{"an escaped events key at the limit", `{"\u0065vents":[]}`, 0},
		{"events below the top level are not a batch", `{"site":{"events":[1,2,3,4,5]}}`, http.StatusUnprocessableEntity},
		{"arrays inside items are not counted", `[[1,2,3,4,5]]`, http.StatusUnprocessableEntity},
		{"over the limit, then invalid", `[1,2,3,4,`, http.StatusRequestEntityTooLarge},
	}
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(t)}
	r.cfg.MaxBatchEvents = 3
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, prob := r.decode([]byte(tt.body), receiveTime, true)
			assert.Equal(t, tt.code, code, "%v", prob)
			if code == http.StatusRequestEntityTooLarge {
				assert.Contains(t, prob.(problems).Detail[0].Msg, "more than 3 events in one batch (max_batch_events)")
			}
		})
	}
}

// TestBatchLimitBoundsMemory: a body of a million tiny items, behind a
// repeated or escaped "events" key, is refused after max_batch_events
// items: the decoder allocates a bounded amount whatever the body holds.
// (encoding/json decodes such a body whole, about 45 times its size.)
func TestBatchLimitBoundsMemory(t *testing.T) {
	items := "[" + strings.Repeat("{},", 1_000_000) + "{}]"
	r := &wafermonitorReceiver{cfg: createDefaultConfig().(*Config), counters: newCounters(), telemetry: nopTelemetry(t)}
	const bound = 8 << 20
	for name, body := range map[string]string{
		"array":          items,
		"repeated key":   `{"events":` + items + `,"events":[]}`,
		"escaped key":    `{"\u0065vents":` + items + `}`,
		"escaped repeat": `{"events":[],"\u0065vents":` + items + `}`,
	} {
		raw := []byte(body)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, code, _ := r.decode(raw, receiveTime, true)
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes of body, %d allocated (bound %d)", name, len(raw), allocated, bound)
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, name)
		assert.Less(t, allocated, uint64(bound), name)
	}
}

// batchArrays is the reference for the batch limit: the lengths of the
// arrays the decoder takes a batch from (the top-level array, or the value
// of every top-level "events" key, escapes decoded), read with
// encoding/json's tokenizer. ok is false when the body is not valid JSON.
func batchArrays(body []byte) (lengths []int, ok bool) {
	if _, valid := stdParse(body); !valid {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, _ := dec.Token()
	switch tok {
	case json.Delim('['):
		return []int{arrayLength(dec)}, true
	case json.Delim('{'):
		for dec.More() {
			key, _ := dec.Token()
			var value json.RawMessage
			if err := dec.Decode(&value); err != nil {
				return nil, false
			}
			inner := json.NewDecoder(bytes.NewReader(value))
			if t, _ := inner.Token(); key == "events" && t == json.Delim('[') {
				lengths = append(lengths, arrayLength(inner))
			}
		}
	}
	return lengths, true
}

// arrayLength counts the elements of the array whose '[' dec has read.
func arrayLength(dec *json.Decoder) int {
	n := 0
	for dec.More() {
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return -1
		}
		n++
	}
	return n
}

// FuzzBatchLimit: the decoder refuses a batch as too large exactly when one
// of the arrays it reads a batch from has more than the limit (compared
// with encoding/json's reading), and otherwise decodes every valid body.
// Seeds: testdata/fuzz/FuzzBatchLimit and the cases below.
func FuzzBatchLimit(f *testing.F) {
	for _, s := range []string{`[{},{}]`, `{"events":[1,2,3,4,5,6]}`, `{"x":[1],"events":[]}`, `[`, `{"events":`,
		`[[1],{"a":[2]}]`, `{"events":[1,2,3,4,5,6],"events":[]}`, `{"\u0065vents":[1,2,3,4,5,6]}`, `{"ev\u0065nts":[],"events":{}}`} {
		f.Add([]byte(s))
	}
	const limit = 5
	f.Fuzz(func(t *testing.T, body []byte) {
		_, ok, tooMany := fastParse(body, limit)
		lengths, valid := batchArrays(body)
		if !valid {
			require.False(t, ok, "accepted a body encoding/json refuses")
			return
		}
		over := false
		for _, n := range lengths {
			over = over || n > limit
		}
		require.Equal(t, over, tooMany, "batch arrays %v, limit %d", lengths, limit)
		require.Equal(t, !over, ok)
	})
}
