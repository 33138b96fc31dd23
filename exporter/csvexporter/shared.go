package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
)

// writers shares one fileWriter per path template among every csv exporter
// and signal that writes it. It is the collector-wide sharing mechanism of
// the other components, keyed by the template's absolute path rather than by
// configuration: what must be one is the file, which two configurations may
// name (csv/a and csv/b writing the same events file), while one
// configuration writes two files (events and entities) that share nothing.
// A writer runs while any of its exporters does, so rows queued by the last
// one are still written while it drains.
var writers = sharedcomponent.NewMap[string, *fileWriter](sharedcomponent.WhileAnyRuns)

// acquireWriter returns a started handle on the writer of spec's path; the
// caller's Shutdown of the handle ends its use.
func acquireWriter(ctx context.Context, host component.Host, spec writerSpec, now func() time.Time, logger *zap.Logger, hooks writerHooks) (*sharedcomponent.Component[*fileWriter], error) {
	key, err := filepath.Abs(spec.template)
	if err != nil {
		return nil, err
	}
	create := func() (*fileWriter, error) { return newFileWriter(spec, now, logger, hooks), nil }
	return writers.LoadAndStart(ctx, host, key, create, func(w *fileWriter) error {
		if w.spec != spec {
			return fmt.Errorf("%s is already written by another csv exporter output with different settings (columns, format, rotation); give each output its own path", spec.template)
		}
		return nil
	})
}

// Start runs the periodic flush, which also closes the files of past periods.
func (w *fileWriter) Start(context.Context, component.Host) error {
	interval := w.spec.flushInterval
	if interval <= 0 {
		// Write-through still needs ticks to close the files of past periods.
		interval = time.Second
	}
	w.mu.Lock()
	// A restarted writer sweeps again what its shutdown left uncompressed.
	w.gz.stopping, w.swept = false, false
	w.mu.Unlock()
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.run(interval)
	return nil
}

func (w *fileWriter) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.tick()
		case <-w.stop:
			return
		}
	}
}

// Shutdown stops the periodic flush, waits for the running compression
// (until ctx is done: then its file stays uncompressed until the next start)
// and writes and closes every file.
func (w *fileWriter) Shutdown(ctx context.Context) error {
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	w.stopCompression(ctx)
	return w.closeAll()
}
