package csvexporter

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wafermonitor/wafermonitor/internal/entity/entitytest"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// TestNumbersFollowTheEntityRules: a number column reads an attribute as
// every other component does (entitytest.NumberCases): the number, or an
// empty cell (null in JSON Lines) for what is no finite number. A column of
// an attribute that is no number shows the value as it is.
func TestNumbersFollowTheEntityRules(t *testing.T) {
	cols := buildColumns(OutputConfig{Columns: []ColumnConfig{
		{Name: "cpu_user_s", Attribute: semconv.AttrCPUUserS},
		{Name: "subjobs_cpu_user_s_sum", Attribute: semconv.AttrJobCPUUserSum},
		{Name: "business_key", Attribute: semconv.AttrBusinessKey},
	}}, nil, eventFields)
	csvEnc := newCSVEncoder(cols, CSVConfig{Delimiter: ";", LineEnding: LineEndingLF})
	jsonEnc := newJSONLEncoder(cols)
	for _, c := range entitytest.NumberCases {
		t.Run(c.Name, func(t *testing.T) {
			r := &record{resource: pcommon.NewMap(), attrs: pcommon.NewMap(), log: plog.NewLogRecord()}
			c.Set(r.attrs.PutEmpty(semconv.AttrCPUUserS))
			c.Set(r.attrs.PutEmpty(semconv.AttrJobCPUUserSum))
			r.attrs.PutStr(semconv.AttrBusinessKey, "lot-1")
			cell, js := "", "null"
			if c.OK {
				cell = strconv.FormatFloat(c.Want, 'f', -1, 64)
				js = cell
			}
			assert.Equal(t, cell+";"+cell+";lot-1\n", string(csvEnc.appendRow(nil, r)))
			assert.Equal(t, `{"cpu_user_s":`+js+`,"subjobs_cpu_user_s_sum":`+js+`,"business_key":"lot-1"}`+"\n", string(jsonEnc.appendRow(nil, r)))
		})
	}
}

// TestOriginalKindAndTime: the kind and time a client sent that the
// receiver could not use are the last two default event columns.
func TestOriginalKindAndTime(t *testing.T) {
	cols := buildColumns(OutputConfig{}, defaultEventColumns, eventFields)
	n := len(cols)
	assert.Equal(t, []string{"app_id_original", "event_kind_original", "at_original"}, []string{cols[n-3].name, cols[n-2].name, cols[n-1].name})
	r := &record{resource: pcommon.NewMap(), attrs: pcommon.NewMap(), log: plog.NewLogRecord()}
	r.attrs.PutStr(semconv.AttrEventKind, semconv.KindOther)
	r.attrs.PutStr(semconv.AttrEventKindOriginal, "heartbeat")
	r.attrs.PutStr(semconv.AttrEventAtOriginal, "yesterday")
	line := newCSVEncoder(cols, CSVConfig{Delimiter: ",", LineEnding: LineEndingLF}).appendRow(nil, r)
	row, err := csv.NewReader(bytes.NewReader(line)).Read()
	require.NoError(t, err)
	assert.Equal(t, []string{"heartbeat", "yesterday"}, row[n-2:])
}
