package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
)

// deadLetterEntry is one line of the dead-letter file: a request the
// endpoint rejected for good, with the payload exactly as it was sent.
type deadLetterEntry struct {
	Time           string          `json:"time"`
	Endpoint       string          `json:"endpoint"`
	Format         string          `json:"format"`
	Mode           string          `json:"mode"`
	ContentType    string          `json:"content_type"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Count          int             `json:"count"`
	StatusCode     int             `json:"status_code,omitempty"`
	Error          string          `json:"error"`
	Payload        json.RawMessage `json:"payload"`
}

// deadLetterFile appends entries as JSON Lines and rotates the file by
// size: path is renamed path.1, path.1 path.2 and so on, keeping
// max_backups files and none older than max_age_days. The exporters and
// signals that name one path share one (shared.go), so the size that
// decides rotation counts every entry.
//
// Not lumberjack (which contrib's file exporter uses): its background
// goroutine outlives Close (natefinch/lumberjack#56), so every restart of
// the exporter would leak one.
type deadLetterFile struct {
	cfg     DeadLetterConfig
	maxSize int64
	now     func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
}

func newDeadLetter(cfg DeadLetterConfig) *deadLetterFile {
	return &deadLetterFile{cfg: cfg, maxSize: int64(cfg.MaxSizeMB) * 1024 * 1024, now: time.Now}
}

// Start creates the directory and opens the file for appending.
func (d *deadLetterFile) Start(context.Context, component.Host) error {
	dir := filepath.Dir(d.cfg.Path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("dead_letter::path: cannot create directory %s: %w", dir, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open()
}

func (d *deadLetterFile) open() error {
	f, err := os.OpenFile(d.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dead_letter::path: cannot open %s: %w", d.cfg.Path, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("dead_letter::path: %w", err)
	}
	d.f, d.size = f, info.Size()
	return nil
}

func (d *deadLetterFile) write(entry deadLetterEntry) error {
	line, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return errors.New("dead-letter file is closed")
	}
	if d.size > 0 && d.size+int64(len(line)) > d.maxSize {
		if err := d.rotate(); err != nil {
			return err
		}
	}
	n, err := d.f.Write(line)
	d.size += int64(n)
	return err
}

// rotate shifts the backups up by one and starts a new file.
func (d *deadLetterFile) rotate() error {
	if err := d.f.Close(); err != nil {
		return err
	}
	d.f = nil
	backup := func(i int) string { return d.cfg.Path + "." + strconv.Itoa(i) }
	// Find the highest existing backup, then shift from the top down.
	last := 0
	for {
		if _, err := os.Stat(backup(last + 1)); err != nil {
			break
		}
		last++
	}
	for i := last; i >= 1; i-- {
		if d.cfg.MaxBackups > 0 && i >= d.cfg.MaxBackups {
			if err := os.Remove(backup(i)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := os.Rename(backup(i), backup(i+1)); err != nil {
			return err
		}
	}
	if err := os.Rename(d.cfg.Path, backup(1)); err != nil {
		return err
	}
	if d.cfg.MaxAgeDays > 0 {
		cutoff := d.now().Add(-time.Duration(d.cfg.MaxAgeDays) * 24 * time.Hour)
		for i := 2; ; i++ {
			info, err := os.Stat(backup(i))
			if err != nil {
				break
			}
			if info.ModTime().Before(cutoff) {
				// Backups are ordered by age: this one and every older one go.
				for j := i; os.Remove(backup(j)) == nil; j++ {
				}
				break
			}
		}
	}
	return d.open()
}

// Shutdown closes the file; it is safe before Start.
func (d *deadLetterFile) Shutdown(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
