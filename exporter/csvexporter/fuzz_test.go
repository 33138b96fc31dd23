package csvexporter

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// appendCSVField appends s as a field of a comma-delimited file, as the CSV
// encoder writes it.
func appendCSVField(buf []byte, s string) []byte {
	return newCSVQuoting(",").appendString(buf, s)
}

// fuzzRows encodes three two-field rows from a and b the way the exporter
// does, returning the file content and the offset after each row.
func fuzzRows(a, b string) ([]byte, []int) {
	var data []byte
	var ends []int
	for _, row := range [][2]string{{a, b}, {b, a}, {a + b, ""}} {
		data = appendCSVField(data, row[0])
		data = append(data, ',')
		data = appendCSVField(data, row[1])
		data = append(data, "\r\n"...)
		ends = append(ends, len(data))
	}
	return data, ends
}

// FuzzCSVRoundTrip: whatever the fields hold, encoding/csv reads back the
// same fields (with its own \r\n to \n normalisation, and invalid UTF-8
// replaced by U+FFFD).
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add("plain", "")
	f.Add("a,b", "\"quoted\"")
	f.Add("line\nbreak", "cr\r\nlf")
	f.Add("東京", "\xff\xfe")
	f.Fuzz(func(t *testing.T, a, b string) {
		data, _ := fuzzRows(a, b)
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = 2
		rows, err := r.ReadAll()
		require.NoError(t, err)
		want := func(s string) string {
			return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\r\n", "\n")
		}
		require.Equal(t, [][]string{{want(a), want(b)}, {want(b), want(a)}, {want(a + b), ""}}, rows)
		require.True(t, utf8.Valid(data))
	})
}

// FuzzRepair: wherever a file is cut, the repair keeps exactly the rows that
// were completely written.
func FuzzRepair(f *testing.F) {
	f.Add("a", "b", uint16(3))
	f.Add("x\r\ny", "\"", uint16(9))
	f.Add("", "\n", uint16(1))
	f.Fuzz(func(t *testing.T, a, b string, cut uint16) {
		data, ends := fuzzRows(a, b)
		n := int(cut) % (len(data) + 1)
		want := 0
		for _, end := range ends {
			if end <= n {
				want = end
			}
		}
		path := filepath.Join(t.TempDir(), "cut.csv")
		require.NoError(t, os.WriteFile(path, data[:n], 0o600))
		file, err := os.Open(path)
		require.NoError(t, err)
		defer file.Close()
		got, err := completeLength(file, int64(n), true)
		require.NoError(t, err)
		require.Equal(t, int64(want), got, "cut at %d of %q", n, data)
	})
}
