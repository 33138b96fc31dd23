package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Output formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// Line endings of CSV files.
const (
	LineEndingCRLF = "crlf"
	LineEndingLF   = "lf"
)

// Time sources that choose the file a row goes to.
const (
	TimeSourceEvent     = "event"
	TimeSourceWallClock = "wall_clock"
)

// Fsync policies.
const (
	FsyncNever   = "never"
	FsyncOnClose = "on_close"
	FsyncOnFlush = "on_flush"
)

// CompressionGzip compresses every closed file into one gzip stream.
const CompressionGzip = "gzip"

// Config of the csv exporter.
type Config struct {
	// Events is the output of log records: one row per lifecycle event.
	Events OutputConfig `mapstructure:"events"`
	// Entities is the output of spans: one row per finished job or subjob.
	Entities OutputConfig `mapstructure:"entities"`

	// Format is FormatCSV or FormatJSONL.
	Format string `mapstructure:"format"`
	// CSV holds the settings that only apply to the csv format.
	CSV CSVConfig `mapstructure:"csv"`
	// Rotation chooses which file a row goes to and which closed files are kept.
	Rotation RotationConfig `mapstructure:"rotation"`

	// FlushInterval is how long rows may wait in memory before they are
	// written to the file. 0 writes every batch before it is acknowledged.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Fsync is FsyncNever, FsyncOnClose or FsyncOnFlush.
	Fsync string `mapstructure:"fsync"`
	// DirectoryPermissions is the octal mode of directories the exporter creates.
	DirectoryPermissions string `mapstructure:"directory_permissions"`
	// FilePermissions is the octal mode of files the exporter creates.
	FilePermissions string `mapstructure:"file_permissions"`

	// QueueConfig is the exporter helper's sending queue; with a storage
	// extension (file_storage) rows survive restarts and a full disk.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the exporter helper's retry of failed writes.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// OutputConfig describes one kind of row and the files it is written to.
type OutputConfig struct {
	// Path is the file path template. %Y, %m, %d and %H in the file name
	// are replaced by the row's year, month, day and hour; %% is a literal %.
	Path string `mapstructure:"path"`
	// Columns replaces the default columns, in order.
	Columns []ColumnConfig `mapstructure:"columns"`
	// ExtraColumns are appended to Columns (or to the defaults).
	ExtraColumns []ColumnConfig `mapstructure:"extra_columns"`
}

// ColumnConfig names one column and where its value comes from: exactly one
// of Attribute and Field.
type ColumnConfig struct {
	// Name is the column's header and, in JSON Lines, its key.
	Name string `mapstructure:"name"`
	// Attribute is looked up on the record (log record or span) first, then
	// on its resource. Maps and lists are written as compact JSON.
	Attribute string `mapstructure:"attribute"`
	// Field is a property of the record itself (see the README for the list).
	Field string `mapstructure:"field"`
}

// CSVConfig holds the csv format's settings.
type CSVConfig struct {
	// Delimiter separates fields: one character, not a quote or line break.
	Delimiter string `mapstructure:"delimiter"`
	// LineEnding is LineEndingCRLF (RFC 4180) or LineEndingLF.
	LineEnding string `mapstructure:"line_ending"`
	// BOM starts every file with a UTF-8 byte order mark, which some
	// spreadsheet programs need to recognise UTF-8.
	BOM bool `mapstructure:"bom"`
}

// RotationConfig chooses files and what happens to closed files.
type RotationConfig struct {
	// TimeSource is TimeSourceEvent (the row's own time) or
	// TimeSourceWallClock (the time it is written) for the path template.
	TimeSource string `mapstructure:"time_source"`
	// LocalTime fills the template in local time instead of UTC.
	LocalTime bool `mapstructure:"local_time"`
	// MaxMegabytes closes a file before it grows past this size and continues
	// in the next one (name-1.csv, name-2.csv, ...). 0: no limit.
	MaxMegabytes int `mapstructure:"max_megabytes"`
	// Compression of closed files: "" (none) or CompressionGzip.
	Compression string `mapstructure:"compression"`
	// MaxFiles is how many closed files of an output are kept. 0: no limit.
	MaxFiles int `mapstructure:"max_files"`
	// MaxAge removes closed files last modified longer ago, or whose period
	// (in the file name) ended longer ago. 0: no limit.
	MaxAge time.Duration `mapstructure:"max_age"`
	// EventTimeWindow bounds the periods that rows placed by their event
	// time may open; rows outside it go to the out_of_range file.
	EventTimeWindow EventTimeWindowConfig `mapstructure:"event_time_window"`
}

// EventTimeWindowConfig is the range of event times, around the time a row
// is written, whose rows go to their own period's file (time_source event).
// A row outside it goes to the out_of_range file of the current period
// (NAME_out_of_range.csv, e.g. wafer_events_20251019_out_of_range.csv) with
// its own time kept in the row, so that rows with any times open a bounded
// number of files.
type EventTimeWindowConfig struct {
	// Past: rows older than this (from the start of the period that holds
	// now-Past) go to the out_of_range file. 0: no limit. It never exceeds
	// MaxAge: an older row's period file would be removed at once.
	Past time.Duration `mapstructure:"past"`
	// Future: rows newer than this (to the end of the period that holds
	// now+Future) go to the out_of_range file. 0: no limit.
	Future time.Duration `mapstructure:"future"`
}

// Validate reports every problem in the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	errs = append(errs, cfg.Events.validate("events", eventFields, defaultEventColumns)...)
	errs = append(errs, cfg.Entities.validate("entities", entityFields, defaultEntityColumns)...)
	if cfg.Events.Path != "" && filepath.Clean(cfg.Events.Path) == filepath.Clean(cfg.Entities.Path) {
		errs = append(errs, fmt.Errorf("events::path and entities::path must differ (their rows have different columns), both are %q", cfg.Events.Path))
	}
	switch cfg.Format {
	case FormatCSV, FormatJSONL:
	default:
		errs = append(errs, fmt.Errorf("format must be %q or %q, got %q", FormatCSV, FormatJSONL, cfg.Format))
	}
	if _, err := cfg.CSV.delimiter(); err != nil {
		errs = append(errs, err)
	}
	switch cfg.CSV.LineEnding {
	case LineEndingCRLF, LineEndingLF:
	default:
		errs = append(errs, fmt.Errorf("csv::line_ending must be %q or %q, got %q", LineEndingCRLF, LineEndingLF, cfg.CSV.LineEnding))
	}
	switch cfg.Rotation.TimeSource {
	case TimeSourceEvent, TimeSourceWallClock:
	default:
		errs = append(errs, fmt.Errorf("rotation::time_source must be %q or %q, got %q", TimeSourceEvent, TimeSourceWallClock, cfg.Rotation.TimeSource))
	}
	switch cfg.Rotation.Compression {
	case "", CompressionGzip:
	default:
		errs = append(errs, fmt.Errorf("rotation::compression must be empty or %q, got %q", CompressionGzip, cfg.Rotation.Compression))
	}
	if cfg.Rotation.MaxMegabytes < 0 {
		errs = append(errs, fmt.Errorf("rotation::max_megabytes must not be negative, got %d", cfg.Rotation.MaxMegabytes))
	}
	if cfg.Rotation.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("rotation::max_files must not be negative, got %d", cfg.Rotation.MaxFiles))
	}
	if cfg.Rotation.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("rotation::max_age must not be negative, got %s", cfg.Rotation.MaxAge))
	}
	if cfg.Rotation.EventTimeWindow.Past < 0 {
		errs = append(errs, fmt.Errorf("rotation::event_time_window::past must not be negative, got %s", cfg.Rotation.EventTimeWindow.Past))
	}
	if cfg.Rotation.EventTimeWindow.Future < 0 {
		errs = append(errs, fmt.Errorf("rotation::event_time_window::future must not be negative, got %s", cfg.Rotation.EventTimeWindow.Future))
	}
	if cfg.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush_interval must not be negative, got %s", cfg.FlushInterval))
	}
	switch cfg.Fsync {
	case FsyncNever, FsyncOnClose, FsyncOnFlush:
	default:
		errs = append(errs, fmt.Errorf("fsync must be %q, %q or %q, got %q", FsyncNever, FsyncOnClose, FsyncOnFlush, cfg.Fsync))
	}
	if _, err := parsePermissions("directory_permissions", cfg.DirectoryPermissions); err != nil {
		errs = append(errs, err)
	}
	if _, err := parsePermissions("file_permissions", cfg.FilePermissions); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o *OutputConfig) validate(name string, fields map[string]fieldFunc, defaults []ColumnConfig) []error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, fmt.Errorf("%s::path must not be empty", name))
	} else if err := checkTemplate(o.Path); err != nil {
		errs = append(errs, fmt.Errorf("%s::path: %w", name, err))
	}
	seen := map[string]bool{}
	check := func(key string, cols []ColumnConfig) {
		for i, c := range cols {
			where := fmt.Sprintf("%s::%s[%d]", name, key, i)
			switch {
			case c.Name == "":
				errs = append(errs, fmt.Errorf("%s::name must not be empty", where))
			case seen[c.Name]:
				errs = append(errs, fmt.Errorf("%s::name %q is used by another column", where, c.Name))
			case !utf8.ValidString(c.Name):
				errs = append(errs, fmt.Errorf("%s::name must be UTF-8", where))
			}
			seen[c.Name] = true
			switch {
			case (c.Attribute == "") == (c.Field == ""):
				errs = append(errs, fmt.Errorf("%s: set exactly one of attribute and field", where))
			case c.Field != "" && fields[c.Field] == nil:
				errs = append(errs, fmt.Errorf("%s::field %q is unknown; %s fields are %s", where, c.Field, name, strings.Join(fieldNames(fields), ", ")))
			}
		}
	}
	cols := o.Columns
	if cols == nil {
		// The defaults are valid; they only reserve their names.
		for _, c := range defaults {
			seen[c.Name] = true
		}
	} else if len(cols) == 0 && len(o.ExtraColumns) == 0 {
		errs = append(errs, fmt.Errorf("%s::columns must not be empty", name))
	}
	check("columns", cols)
	check("extra_columns", o.ExtraColumns)
	return errs
}

// delimiter returns the single-character delimiter.
func (c *CSVConfig) delimiter() (rune, error) {
	r, size := utf8.DecodeRuneInString(c.Delimiter)
	if c.Delimiter == "" || size != len(c.Delimiter) || r == utf8.RuneError {
		return 0, fmt.Errorf("csv::delimiter must be exactly one character, got %q", c.Delimiter)
	}
	if r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("csv::delimiter must not be a quote or a line break, got %q", c.Delimiter)
	}
	return r, nil
}

func parsePermissions(key, s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v == 0 || v&^0o777 != 0 {
		return 0, fmt.Errorf("%s must be an octal mode such as \"0750\", got %q", key, s)
	}
	return uint32(v), nil
}

// window is the event-time window in force: its past side never reaches
// beyond max_age, since a row of an older period would open a file that
// retention removes as soon as it is closed.
func (r *RotationConfig) window() eventWindow {
	w := eventWindow{past: r.EventTimeWindow.Past, future: r.EventTimeWindow.Future}
	if r.MaxAge > 0 && (w.past == 0 || w.past > r.MaxAge) {
		w.past = r.MaxAge
	}
	return w
}
