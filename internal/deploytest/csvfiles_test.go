package deploytest

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The outputs of the csv exporter in the chart (under csv/ in the data
// volume) and in otelcol-config.yaml (in the data directory).
const (
	csvEvents   = "wafer_events"
	csvEntities = "wafer_entities"
)

// csvFiles is what the csv exporter wrote for one output.
type csvFiles struct {
	// rows are the whole rows, column → value by their file's header.
	rows []map[string]string
	// tornRows describe the rows of the .csv files that are not whole
	// (file:line and why): fewer or more columns than the header, a quoted
	// value never closed, or a last row without its line end. While the
	// collector runs, a file may end in half a row; after a clean stop
	// there must be none.
	tornRows []string
	// torn counts the NAME.torn files: rows cut short by a kill, set aside
	// at the next start.
	torn int
}

// readCSVOutput reads every file of one output (csvEvents or csvEntities)
// in dir: open files, size-rotated ones (NAME-1.csv) and gzipped
// closed ones. Every row is parsed in full; those that are not whole are
// listed in tornRows, not returned as rows. The error is for files that
// cannot be read.
func readCSVOutput(t testing.TB, dir, output string) (csvFiles, error) {
	t.Helper()
	var out csvFiles
	files, err := filepath.Glob(filepath.Join(dir, output+"_*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var errs []error
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".torn"):
			out.torn++
		case strings.HasSuffix(f, ".csv"), strings.HasSuffix(f, ".csv.gz"):
			rows, torn, err := readCSVFile(f)
			out.rows = append(out.rows, rows...)
			out.tornRows = append(out.tornRows, torn...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return out, errors.Join(errs...)
}

// readCSVFile parses every row of one file against its header. A row is
// whole when it has exactly the header's columns, every quoted value is
// closed, and it ends in a line end (a row cut inside its last column still
// has all its columns). Rows that are not whole are described in torn.
func readCSVFile(path string) (rows []map[string]string, torn []string, err error) {
	f, err := os.Open(path) //nolint:gosec // the test's own temporary directory
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) == 0 {
		return nil, nil, nil
	}
	cr := csv.NewReader(bytes.NewReader(data))
	header, err := cr.Read()
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: header: %v", path, err)}, nil
	}
	cr.FieldsPerRecord = len(header)
	lastWhole := false // the last row read had every column
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && errors.Is(err, csv.ErrFieldCount):
			torn = append(torn, fmt.Sprintf("%s:%d: %d columns, the header has %d", path, pe.StartLine, len(rec), len(header)))
			lastWhole = false
			continue
		case err != nil:
			// A quoted value not closed: the rest of the file cannot be
			// read as rows.
			return rows, append(torn, fmt.Sprintf("%s: %v", path, err)), nil
		}
		row := make(map[string]string, len(header))
		for i, name := range header {
			row[name] = rec[i]
		}
		rows = append(rows, row)
		lastWhole = true
	}
	if data[len(data)-1] != '\n' && lastWhole {
		// The last row has every column but no line end: it may be cut
		// inside its last value.
		rows = rows[:len(rows)-1]
		torn = append(torn, fmt.Sprintf("%s: the last row has no line end", path))
	}
	return rows, torn, nil
}

// jobOf is the job a row of either output belongs to: its own entity ID
// for a job, its parent's for a subjob. A job's UUID is its trace ID.
func jobOf(row map[string]string) string {
	if row["entity_type"] == "job" {
		return row["entity_id"]
	}
	return row["parent_id"]
}

// rowsPerJob counts the rows of each job.
func rowsPerJob(rows []map[string]string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[jobOf(r)]++
	}
	return n
}

// TestReadCSVFileFindsTornRows: a row with a column too few, or with every
// column but cut inside its last value (no line end), is not whole.
func TestReadCSVFileFindsTornRows(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		rows, torn    int
	}{
		{"whole", "a,b,c\r\n1,2,3\r\n4,5,6\r\n", 2, 0},
		{"column missing", "a,b,c\r\n1,2\r\n4,5,6\r\n", 1, 1},
		{"column too many", "a,b,c\r\n1,2,3,4\r\n4,5,6\r\n", 1, 1},
		{"cut in the last column", "a,b,c\r\n1,2,3\r\n4,5,6", 1, 1},
		{"cut before the line feed", "a,b,c\r\n1,2,3\r\n4,5,6\r", 1, 1},
		{"cut in a quoted value", "a,b,c\r\n1,2,3\r\n4,5,\"six", 1, 1},
		{"cut short at the end", "a,b,c\r\n1,2,3\r\n4,5", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.csv")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			rows, torn, err := readCSVFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows || len(torn) != tc.torn {
				t.Errorf("%d whole rows, torn %q; want %d whole, %d torn", len(rows), torn, tc.rows, tc.torn)
			}
		})
	}
}
