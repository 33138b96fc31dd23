package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
)

// Config is contrib's file_storage configuration as it is: every key keeps
// its meaning and its default, and contrib's Validate checks it. The checks
// this extension adds need no settings.
type Config struct {
	filestorage.Config `mapstructure:",squash"`
}
