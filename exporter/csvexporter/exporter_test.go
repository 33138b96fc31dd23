package csvexporter

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testConfig writes events.<ext> and entities.<ext> into dir, synchronously.
func testConfig(dir, format string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Format = format
	ext := ".csv"
	if format == FormatJSONL {
		ext = ".jsonl"
	}
	cfg.Events.Path = filepath.Join(dir, "events"+ext)
	cfg.Entities.Path = filepath.Join(dir, "entities"+ext)
	cfg.FlushInterval = 0
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	return cfg
}

// export runs a logs and a traces exporter of cfg over the data.
func export(t *testing.T, cfg *Config, logs plog.Logs, traces ptrace.Traces) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	ctx := context.Background()
	f := NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	le, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	te, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, le.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, le.ConsumeLogs(ctx, logs))
	require.NoError(t, te.ConsumeTraces(ctx, traces))
	require.NoError(t, le.Shutdown(ctx))
	require.NoError(t, te.Shutdown(ctx))
}

func TestGolden(t *testing.T) {
	for _, format := range []string{FormatCSV, FormatJSONL} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir, format)
			export(t, cfg, toLogs(sampleEvents()), toTraces(sampleEvents()))
			for _, path := range []string{cfg.Events.Path, cfg.Entities.Path} {
				got, err := os.ReadFile(path)
				require.NoError(t, err)
				golden := filepath.Join("testdata", "golden", filepath.Base(path))
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
					require.NoError(t, os.WriteFile(golden, got, 0o600))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err)
				assert.Equal(t, string(want), string(got), "%s differs from %s (go test -run TestGolden -update rewrites it)", path, golden)
			}
		})
	}
}

// pythonRead parses each file named on the command line, as "csv:DELIM:PATH"
// or "jsonl::PATH", with Python's csv and json modules, and prints a JSON
// list with the rows of each file. One process reads them all: starting
// Python is the slow part.
const pythonRead = `
import csv, json, sys
out = []
for arg in sys.argv[1:]:
    kind, delim, path = arg.split(':', 2)
    if kind == 'csv':
        with open(path, newline='', encoding='utf-8-sig') as f:
            out.append(list(csv.reader(f, delimiter=delim, strict=True)))
    else:
        with open(path, encoding='utf-8') as f:
            out.append([json.loads(line) for line in f])
json.dump(out, sys.stdout, ensure_ascii=False)
`

// runPython returns, per file, its rows as Python read them.
func runPython(t *testing.T, files ...string) []json.RawMessage {
	t.Helper()
	python, err := exec.LookPath("python3")
	require.NoError(t, err, "python3 is needed to prove the files interoperate (CI installs it: .ci/setup.d/40-python3.sh)")
	cmd := exec.Command(python, append([]string{"-c", pythonRead}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python3: %s", stderr.String())
	var rows []json.RawMessage
	require.NoError(t, json.Unmarshal(out, &rows))
	require.Len(t, rows, len(files))
	return rows
}

func goReadCSV(t *testing.T, path string, delim rune) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	r.Comma = delim
	rows, err := r.ReadAll()
	require.NoError(t, err)
	return rows
}

// cellsByName indexes a CSV data row by the header's names.
func cellsByName(header, row []string) map[string]string {
	m := make(map[string]string, len(header))
	for i, name := range header {
		m[name] = row[i]
	}
	return m
}

func TestReadBackCSV(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  CSVConfig
	}{
		{"rfc4180", CSVConfig{Delimiter: ",", LineEnding: LineEndingCRLF}},
		{"semicolon-lf-bom", CSVConfig{Delimiter: ";", LineEnding: LineEndingLF, BOM: true}},
		{"tab", CSVConfig{Delimiter: "\t", LineEnding: LineEndingCRLF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir, FormatCSV)
			cfg.CSV = tc.csv
			events := sampleEvents()
			export(t, cfg, toLogs(events), toTraces(events))
			delim := []rune(tc.csv.Delimiter)[0]
			python := runPython(t, "csv:"+tc.csv.Delimiter+":"+cfg.Events.Path, "csv:"+tc.csv.Delimiter+":"+cfg.Entities.Path)

			for n, out := range []struct {
				path string
				cols []ColumnConfig
				rows int
			}{
				{cfg.Events.Path, defaultEventColumns, 4},
				{cfg.Entities.Path, defaultEntityColumns, 3},
			} {
				goRows := goReadCSV(t, out.path, delim)
				require.Len(t, goRows, 1+out.rows, out.path)
				for i, c := range out.cols {
					assert.Equal(t, c.Name, goRows[0][i])
				}
				var pyRows, pyRaw [][]string
				require.NoError(t, json.Unmarshal(python[n], &pyRows))
				require.NoError(t, json.Unmarshal(python[n], &pyRaw))
				require.Len(t, pyRows, len(goRows))
				for i := range goRows {
					// Go's reader turns \r\n inside a quoted field into \n; Python keeps it.
					for j := range pyRows[i] {
						pyRows[i][j] = strings.ReplaceAll(pyRows[i][j], "\r\n", "\n")
					}
					assert.Equal(t, pyRows[i], goRows[i], "row %d of %s", i, out.path)
				}
				// The awkward row survives byte for byte in Python.
				last := cellsByName(pyRaw[0], pyRaw[out.rows])
				assert.Equal(t, `lot "47,11"`, last["business_key"])
				assert.Equal(t, "wafer\n07\r\nend", last["sub_key"])
				assert.Equal(t, "fab-Ü", last["site_id"])
				assert.Equal(t, `métro,logie "v2"`, last["app_name"])
				var meta map[string]any
				require.NoError(t, json.Unmarshal([]byte(last["metadata_json"]), &meta), "metadata_json is real JSON")
				assert.Equal(t, map[string]any{
					"note": "a, \"b\"\nc", "tags": []any{"x", 1.0, true},
					"nested": map[string]any{"z": 1.5, "a": "東京"},
				}, meta)
			}
		})
	}
}

func TestReadBackJSONL(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir, FormatJSONL)
	events := sampleEvents()
	export(t, cfg, toLogs(events), toTraces(events))
	python := runPython(t, "jsonl::"+cfg.Events.Path, "jsonl::"+cfg.Entities.Path)
	for n, out := range []struct {
		path string
		cols []ColumnConfig
		rows int
	}{
		{cfg.Events.Path, defaultEventColumns, 4},
		{cfg.Entities.Path, defaultEntityColumns, 3},
	} {
		data, err := os.ReadFile(out.path)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		require.Len(t, lines, out.rows)
		var goRows []map[string]any
		for _, line := range lines {
			// One compact object per line, keys in column order.
			var row map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &row))
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, []byte(line)))
			assert.Equal(t, compact.String(), line)
			keys := orderedKeys(t, line)
			for i, c := range out.cols {
				assert.Equal(t, c.Name, keys[i])
			}
			goRows = append(goRows, row)
		}
		var pyRows []map[string]any
		require.NoError(t, json.Unmarshal(python[n], &pyRows))
		assert.Equal(t, goRows, pyRows)
		last := goRows[out.rows-1]
		assert.Equal(t, "wafer\n07\r\nend", last["sub_key"])
		assert.Equal(t, map[string]any{
			"note": "a, \"b\"\nc", "tags": []any{"x", 1.0, true},
			"nested": map[string]any{"z": 1.5, "a": "東京"},
		}, last["metadata_json"])
		assert.Equal(t, 4.0, last["duration_s"])
		assert.Nil(t, last["app_id"])
	}
}

func orderedKeys(t *testing.T, line string) []string {
	dec := json.NewDecoder(strings.NewReader(line))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestSingleEmptyColumnIsStillARow(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir, FormatCSV)
	cfg.Events.Columns = []ColumnConfig{{Name: "parent_id", Attribute: "wafer.entity.parent_id"}}
	export(t, cfg, toLogs(sampleEvents()[:1]), ptraceEmpty())
	assert.Equal(t, "parent_id\r\n\"\"\r\n", readFile(t, cfg.Events.Path))
	assert.Equal(t, [][]string{{"parent_id"}, {""}}, goReadCSV(t, cfg.Events.Path, ','))
}

func ptraceEmpty() ptrace.Traces { return ptrace.NewTraces() }
