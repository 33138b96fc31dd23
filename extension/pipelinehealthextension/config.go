package pipelinehealthextension // import "github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension"

import (
	"errors"
	"time"
)

// Config of the pipeline_health extension.
type Config struct {
	DamagedFiles DamagedFilesConfig `mapstructure:"damaged_files"`
}

// DamagedFilesConfig is how long a storage file found damaged at start
// keeps the health answer degraded.
type DamagedFilesConfig struct {
	// DegradedFor is how long after the file was moved aside the answer
	// stays degraded, unless the kept copy is removed or renamed before
	// (that acknowledges it). 0 lists damaged files without degrading.
	DegradedFor time.Duration `mapstructure:"degraded_for"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.DamagedFiles.DegradedFor < 0 {
		return errors.New("damaged_files::degraded_for must not be negative")
	}
	return nil
}
