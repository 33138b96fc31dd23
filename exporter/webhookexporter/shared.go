package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"context"
	"fmt"
	"path/filepath"

	"go.opentelemetry.io/collector/component"

	"github.com/wafermonitor/wafermonitor/internal/sharedcomponent"
)

// deadLetters shares one dead-letter file per path among every webhook
// exporter and signal that names it (a webhook in the logs and the traces
// pipeline, or two webhooks), so entries are appended by one writer and
// rotated on one count. It is the collector-wide sharing mechanism, keyed by
// the absolute path: the file is what must be one, and two configurations
// may name it. It stays open while any of its exporters runs.
var deadLetters = sharedcomponent.NewMap[string, *deadLetterFile](sharedcomponent.WhileAnyRuns)

// acquireDeadLetter returns a started handle on the dead-letter file of cfg;
// the caller's Shutdown of the handle ends its use.
func acquireDeadLetter(ctx context.Context, host component.Host, cfg DeadLetterConfig) (*sharedcomponent.Component[*deadLetterFile], error) {
	key, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("dead_letter::path: %w", err)
	}
	create := func() (*deadLetterFile, error) { return newDeadLetter(cfg), nil }
	return deadLetters.LoadAndStart(ctx, host, key, create, func(d *deadLetterFile) error {
		if !sameRotation(d.cfg, cfg) {
			return fmt.Errorf("dead_letter::path: %s is already the dead-letter file of another webhook exporter with other max_size_mb, max_backups or max_age_days; give it the same settings or its own path", cfg.Path)
		}
		return nil
	})
}

// sameRotation says whether two configurations of one file agree on how it
// is rotated (their paths may be written differently).
func sameRotation(a, b DeadLetterConfig) bool {
	a.Path, b.Path = "", ""
	return a == b
}
