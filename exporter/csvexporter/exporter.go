package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/exporter/csvexporter/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/exporterhealth"
	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// The two kinds of rows.
const (
	outputEvents   = "events"
	outputEntities = "entities"
)

// keepBatchBytes is the largest encoding buffer kept between batches.
const keepBatchBytes = 16 << 20

// csvExporter writes the rows of one signal: events from logs or entities
// from traces.
type csvExporter struct {
	cfg       *Config
	output    string
	out       OutputConfig
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	// health reports failing writes as the exporter's component status.
	health *exporterhealth.Tracker
	// rowsAttr is the rows counter's option list, built once so that
	// counting a batch's rows allocates nothing.
	rowsAttr []metric.AddOption
	now      func() time.Time

	// mu serialises encoding: the encoder and the batch buffer are reused.
	mu     sync.Mutex
	enc    encoder
	batch  rowBatch
	rec    record
	writer *sharedcomponent.Component[*fileWriter]
}

func newExporter(cfg *Config, set exporter.Settings, output string) (*csvExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &csvExporter{
		cfg:       cfg,
		output:    output,
		logger:    set.Logger,
		telemetry: tb,
		rowsAttr:  []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("output", output)))},
		now:       time.Now,
	}
	fields, defaults := eventFields, defaultEventColumns
	e.out = cfg.Events
	if output == outputEntities {
		fields, defaults = entityFields, defaultEntityColumns
		e.out = cfg.Entities
	}
	cols := buildColumns(e.out, defaults, fields)
	if cfg.Format == FormatJSONL {
		e.enc = newJSONLEncoder(cols)
	} else {
		e.enc = newCSVEncoder(cols, cfg.CSV)
	}
	return e, nil
}

func (e *csvExporter) spec() writerSpec {
	dirPerm, _ := parsePermissions("directory_permissions", e.cfg.DirectoryPermissions)
	filePerm, _ := parsePermissions("file_permissions", e.cfg.FilePermissions)
	return writerSpec{
		template:      e.out.Path,
		header:        string(e.enc.header()),
		csvQuotes:     e.cfg.Format == FormatCSV,
		timeSource:    e.cfg.Rotation.TimeSource,
		localTime:     e.cfg.Rotation.LocalTime,
		maxBytes:      int64(e.cfg.Rotation.MaxMegabytes) << 20,
		compress:      e.cfg.Rotation.Compression == CompressionGzip,
		maxFiles:      e.cfg.Rotation.MaxFiles,
		maxAge:        e.cfg.Rotation.MaxAge,
		window:        e.cfg.Rotation.window(),
		fsync:         e.cfg.Fsync,
		flushInterval: e.cfg.FlushInterval,
		dirPerm:       os.FileMode(dirPerm),
		filePerm:      os.FileMode(filePerm),
	}
}

// start touches no file: an unwritable directory must not stop the
// collector; writes report it and the rows wait in the queue.
func (e *csvExporter) start(ctx context.Context, host component.Host) error {
	e.health.Start(host)
	hooks := writerHooks{
		fileClosed: func(compressed bool) {
			e.telemetry.ExporterCsvFilesClosed.Add(context.Background(), 1,
				metric.WithAttributeSet(attribute.NewSet(attribute.Bool("compressed", compressed))))
		},
		filesRemoved: func(n int) {
			e.telemetry.ExporterCsvFilesRemoved.Add(context.Background(), int64(n))
		},
		writeError: func() {
			e.telemetry.ExporterCsvWriteErrors.Add(context.Background(), 1)
		},
		outOfRange: func(n int) {
			e.telemetry.ExporterCsvRowsOutOfRange.Add(context.Background(), int64(n))
		},
	}
	w, err := acquireWriter(ctx, host, e.spec(), e.now, e.logger, hooks)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.writer = w
	e.mu.Unlock()
	return nil
}

func (e *csvExporter) shutdown(ctx context.Context) error {
	e.health.Shutdown()
	e.mu.Lock()
	w := e.writer
	e.writer = nil
	e.mu.Unlock()
	var err error
	if w != nil {
		err = w.Shutdown(ctx)
	}
	e.telemetry.Shutdown()
	return err
}

// consumeLogs writes one row per log record of a wafer entity; other log
// records are not lifecycle events and are skipped.
func (e *csvExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := &e.batch
	b.reset()
	rec := &e.rec
	defer func() { *rec = record{} }() // holds no batch after the call
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		rec.resource = rl.Resource().Attributes()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			records := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				rec.attrs, rec.log = lr.Attributes(), lr
				if _, ok := rec.attrs.Get(semconv.AttrEntityType); !ok {
					continue
				}
				b.data = e.enc.appendRow(b.data, rec)
				b.ends = append(b.ends, len(b.data))
				b.times = append(b.times, timeOf(eventTime(lr)))
			}
		}
	}
	return e.flushBatch(ctx)
}

// consumeTraces writes one row per span of a wafer entity (a finished job or
// subjob); other spans are skipped.
func (e *csvExporter) consumeTraces(ctx context.Context, td ptrace.Traces) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := &e.batch
	b.reset()
	rec := &e.rec
	defer func() { *rec = record{} }() // holds no batch after the call
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		rec.resource = rs.Resource().Attributes()
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				rec.attrs, rec.span = span.Attributes(), span
				if _, ok := rec.attrs.Get(semconv.AttrEntityType); !ok {
					continue
				}
				b.data = e.enc.appendRow(b.data, rec)
				b.ends = append(b.ends, len(b.data))
				b.times = append(b.times, timeOf(span.EndTimestamp()))
			}
		}
	}
	return e.flushBatch(ctx)
}

var errNotStarted = errors.New("the csv exporter is not started")

func (e *csvExporter) flushBatch(ctx context.Context) error {
	b := &e.batch
	defer func() {
		if cap(b.data) > keepBatchBytes {
			b.data = nil
		}
	}()
	if len(b.ends) == 0 {
		return nil
	}
	if e.writer == nil {
		return errNotStarted
	}
	if err := e.writer.Unwrap().write(b, e.cfg.FlushInterval == 0); err != nil {
		e.health.Observe(err)
		return err
	}
	e.health.Observe(nil)
	e.telemetry.ExporterCsvRows.Add(ctx, int64(len(b.ends)), e.rowsAttr...)
	return nil
}

func timeOf(ts pcommon.Timestamp) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return ts.AsTime()
}
