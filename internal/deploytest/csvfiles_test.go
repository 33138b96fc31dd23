package deploytest

import (
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
	rows []map[string]string
	// torn counts the NAME.torn files: rows cut short by a kill, set aside
	// at the next start.
	torn int
}

// readCSVOutput reads every file of one output (csvEvents or csvEntities)
// in dir: open files, size-rotated ones (NAME-1.csv) and gzipped
// closed ones, each row as column → value by the file's header. While the
// collector runs a file may end in half a row: the rows before it are
// returned with the error.
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
			rows, err := readCSVFile(f)
			out.rows = append(out.rows, rows...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return out, errors.Join(errs...)
}

func readCSVFile(path string) ([]map[string]string, error) {
	f, err := os.Open(path) //nolint:gosec // the test's own temporary directory
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("%s: %w", path, err)
		}
		row := make(map[string]string, len(header))
		for i, name := range header {
			row[name] = rec[i]
		}
		rows = append(rows, row)
	}
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
