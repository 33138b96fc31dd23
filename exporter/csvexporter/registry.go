package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The registry shares one fileWriter per path template across exporters
// and signals.
var registry = struct {
	sync.Mutex
	writers map[string]*fileWriter
}{writers: map[string]*fileWriter{}}

func acquireWriter(spec writerSpec, now func() time.Time, logger *zap.Logger, hooks writerHooks) (*fileWriter, error) {
	key, err := filepath.Abs(spec.template)
	if err != nil {
		return nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	if w := registry.writers[key]; w != nil {
		if w.spec != spec {
			return nil, fmt.Errorf("%s is already written by another csv exporter output with different settings (columns, format, rotation); give each output its own path", spec.template)
		}
		w.refs++
		return w, nil
	}
	w := newFileWriter(spec, now, logger, hooks)
	w.refs = 1
	interval := spec.flushInterval
	if interval <= 0 {
		// Write-through still needs ticks to close the files of past periods.
		interval = time.Second
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go w.run(interval)
	registry.writers[key] = w
	return w, nil
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

// release drops one user; the last one stops the writer and closes its files.
func (w *fileWriter) release() error {
	registry.Lock()
	w.refs--
	last := w.refs == 0
	if last {
		for key, other := range registry.writers {
			if other == w {
				delete(registry.writers, key)
			}
		}
	}
	registry.Unlock()
	if !last {
		return nil
	}
	close(w.stop)
	<-w.done
	return w.closeAll()
}
