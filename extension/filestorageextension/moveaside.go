package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// damagedSuffix is added to a damaged file's name with the UTC time it was
// moved aside: exporter_csv__logs.damaged-20251019T120000Z.
const damagedSuffix = ".damaged-"

// moveAside renames a damaged file out of the way, keeping it next to where
// it was, and tells: an error log with both paths, the damaged files
// metric, a recoverable error status event (until the collector restarts)
// and DamagedFiles.
func (e *fileStorage) moveAside(ctx context.Context, f *trackedFile, problem string) error {
	at := e.now().UTC()
	target, err := renameAside(f.path, at.Format("20060102T150405Z"))
	if err != nil {
		return fmt.Errorf("file_storage: %s is damaged (%s) and could not be moved aside: %w; move or remove it, and start again",
			f.path, problem, err)
	}
	e.logger.Error("Storage file damaged: moved it aside; the component starts without what it held",
		zap.String("file", f.path), zap.String("moved_to", target), zap.String("problem", problem),
		zap.String("component", f.owner.String()), zap.String("component_kind", f.kind.String()))
	e.telemetry.ExtensionFileStorageDamagedFiles.Add(ctx, 1,
		metric.WithAttributes(attribute.String("file", filepath.Base(f.path))))
	e.mu.Lock()
	e.damaged = append(e.damaged, spool.DamagedFile{
		Owner: f.owner, Kind: f.kind, Name: f.name, Path: f.path, MovedTo: target, Problem: problem, At: at,
	})
	host := e.host
	e.mu.Unlock()
	if host != nil {
		componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(
			fmt.Errorf("%s was damaged (%s) and moved to %s; %s started without it", f.path, problem, target, f.owner)))
	}
	return nil
}

// renameAside renames path to path.damaged-<stamp>, or -2, -3, … after it
// when a file of that name exists (a file damaged again within a second).
func renameAside(path, stamp string) (string, error) {
	base := path + damagedSuffix + stamp
	for n := 1; ; n++ {
		target := base
		if n > 1 {
			target = fmt.Sprintf("%s-%d", base, n)
		}
		if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
			return target, os.Rename(path, target)
		} else if err != nil {
			return "", err
		}
	}
}
