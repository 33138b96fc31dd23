package wafermonitorreceiver

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// TestNumbersFollowTheEntityRules: a metric, and a number the contract reads
// in metadata, are read as every other component reads the same value
// (entitytest.NumberCases): numbers and numeric strings, finite; anything
// else is kept as sent.
func TestNumbersFollowTheEntityRules(t *testing.T) {
	for _, c := range entitytest.NumberCases {
		if c.JSON == "" {
			continue // no JSON holds it
		}
		t.Run(c.Name, func(t *testing.T) {
			raw := json.RawMessage(c.JSON)
			_, out := convertLoose(t, looseEvent(func(_, _, _, ev map[string]any) {
				ev["kind"] = "progress"
				ev["metrics"] = map[string]any{"cpu_user_s": raw}
				ev["metadata"] = map[string]any{"done": raw, "total": 4}
			}))
			for _, attr := range []string{semconv.AttrCPUUserS, semconv.AttrProgressDone} {
				got, ok := out.log[attr]
				assert.Equal(t, c.OK, ok, attr)
				if c.OK {
					assert.Equal(t, c.Want, got, attr)
				}
			}
			if !c.OK {
				assert.Contains(t, out.log[semconv.AttrMetricsUnparsed], "cpu_user_s", "kept as sent")
			}
		})
	}
}

// TestExpectedSubjobsIsAWholeNumber: a job's declared subjob count is a whole
// number, sent as a number or a numeric string.
func TestExpectedSubjobsIsAWholeNumber(t *testing.T) {
	tests := []struct {
		sent any
		want any // nil: absent
	}{
		{json.Number("5"), int64(5)},
		{"5", int64(5)},
		{json.Number("5.0"), int64(5)},
		{json.Number("5.5"), nil},
		{"five", nil},
		{true, nil},
	}
	for _, tt := range tests {
		_, out := convertLoose(t, looseEvent(func(_, _, ent, ev map[string]any) {
			ent["type"] = "job"
			delete(ent, "parent_id")
			ev["metadata"] = map[string]any{"expected_subjobs": tt.sent}
		}))
		assert.Equal(t, tt.want, out.log[semconv.AttrExpectedSubjobs], "%v", tt.sent)
	}
}

// TestV1MetadataFields: each metadata field the contract interprets
// becomes the attribute entity.V1MetadataFields names (the webhook rebuilds
// metadata from the same table).
func TestV1MetadataFields(t *testing.T) {
	values := map[string]any{
		v1event.MetadataError: "boom", v1event.MetadataErrorType: "E1", v1event.MetadataExpectedSubjobs: 4,
		v1event.MetadataDone: 1, v1event.MetadataTotal: 4, v1event.MetadataFraction: 0.25, v1event.MetadataMessage: "m",
	}
	require.Len(t, entity.V1MetadataFields, len(values))
	for _, f := range entity.V1MetadataFields {
		_, out := convertLoose(t, looseEvent(func(_, _, _, ev map[string]any) {
			ev["kind"] = "progress"
			ev["metadata"] = map[string]any{f.Name: values[f.Name]}
		}))
		assert.Contains(t, out.log, f.Attr, f.Name)
	}
}
