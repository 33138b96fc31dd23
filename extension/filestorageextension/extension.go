package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/extension/filestorageextension/internal/metadata"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

// fileStorage is contrib's file storage extension with the file check and
// the queue accounting in front of its GetClient.
type fileStorage struct {
	inner     storage.Extension
	directory string
	timeout   time.Duration
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	// releaseMaps: quiet files' mapped pages are released (release.go).
	releaseMaps bool
	releaseMu   sync.Mutex // serialises looks at the files
	stop, done  chan struct{}

	// deferProgress: persistent sending queues' progress is written with
	// their next write (progressclient.go), on a timer set with after.
	deferProgress bool
	after         afterFunc

	mu      sync.Mutex
	host    component.Host
	clients map[string]*trackedFile // by path
	damaged []spool.DamagedFile
}

var (
	_ storage.Extension    = (*fileStorage)(nil)
	_ spool.Source         = (*fileStorage)(nil)
	_ spool.DamageReporter = (*fileStorage)(nil)
)

func (e *fileStorage) Start(ctx context.Context, host component.Host) error {
	e.mu.Lock()
	e.host = host
	e.mu.Unlock()
	if err := e.inner.Start(ctx, host); err != nil {
		return err
	}
	if e.releaseMaps && e.stop == nil {
		e.stop, e.done = make(chan struct{}), make(chan struct{})
		go e.releaseLoop(e.stop, e.done)
	}
	return nil
}

func (e *fileStorage) Shutdown(ctx context.Context) error {
	if e.stop != nil {
		close(e.stop)
		<-e.done
		e.stop = nil
	}
	err := e.inner.Shutdown(ctx)
	e.telemetry.Shutdown()
	return err
}

// GetClient checks the component's file before contrib's extension opens
// it. A damaged file is moved aside and the component gets a new, empty
// one; a file that cannot be checked (locked by another process, unreadable
// directory) fails the component's start, as contrib's would.
func (e *fileStorage) GetClient(ctx context.Context, kind component.Kind, owner component.ID, name string) (storage.Client, error) {
	path := filepath.Join(e.directory, fileName(kind, owner, name))
	f := &trackedFile{owner: owner, kind: kind, name: name, path: path}
	var damaged *damagedError
	switch err := checkFile(path, e.timeout); {
	case errors.As(err, &damaged):
		if err := e.moveAside(ctx, f, damaged.problem); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("file_storage: checking %s: %w", path, err)
	}
	client, err := e.open(ctx, f)
	if errors.As(err, &damaged) {
		// The check missed what bbolt panicked on in this goroutine.
		if err := e.moveAside(ctx, f, damaged.problem); err != nil {
			return nil, err
		}
		client, err = e.open(ctx, f)
	}
	if err != nil {
		return nil, err
	}
	return e.track(ctx, f, client), nil
}

// open gets contrib's client; a panic of bbolt's in this goroutine, a fault
// on its memory map included, becomes a *damagedError.
func (e *fileStorage) open(ctx context.Context, f *trackedFile) (client storage.Client, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			client, err = nil, damagedf("bbolt failed opening it: %v", r)
		}
	}()
	return e.inner.GetClient(ctx, f.kind, f.owner, f.name)
}

// Directory is where the files are (spool.Source).
func (e *fileStorage) Directory() string { return e.directory }

// Queues returns the persistent sending queues whose clients were handed
// out since start, by file name (spool.Source).
func (e *fileStorage) Queues() []spool.Queue {
	e.mu.Lock()
	files := make([]*trackedFile, 0, len(e.clients))
	for _, f := range e.clients {
		files = append(files, f)
	}
	e.mu.Unlock()
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var out []spool.Queue
	for _, f := range files {
		if f.isQueue.Load() {
			out = append(out, spool.Queue{Owner: f.owner, Kind: f.kind, Name: f.name, Items: f.items.Load(), Removed: f.removed.Load()})
		}
	}
	return out
}

// DamagedFiles returns the files moved aside since start (spool.DamageReporter).
func (e *fileStorage) DamagedFiles() []spool.DamagedFile {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]spool.DamagedFile(nil), e.damaged...)
}

func (e *fileStorage) track(ctx context.Context, f *trackedFile, client storage.Client) storage.Client {
	f.init(ctx, client)
	e.mu.Lock()
	e.clients[f.path] = f
	e.mu.Unlock()
	client = &accessClient{Client: client, access: &f.access}
	if e.deferProgress && f.kind == component.KindExporter {
		client = newProgressClient(client, e.logger.With(zap.String("file", f.path)), e.after)
	}
	return &queueClient{Client: client, file: f}
}
