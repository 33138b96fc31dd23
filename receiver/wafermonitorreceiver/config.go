package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
)

// Config of the wafermonitor receiver.
type Config struct {
	// ServerConfig is the collector's HTTP server configuration: endpoint,
	// TLS, auth, CORS, max_request_body_size, compression and timeouts.
	confighttp.ServerConfig `mapstructure:",squash"`

	// MaxBatchEvents is the largest number of events one batch request may
	// carry; a larger batch is answered 413.
	MaxBatchEvents int `mapstructure:"max_batch_events"`

	// Deduplication of events by idempotency key.
	Deduplication DeduplicationConfig `mapstructure:"deduplication"`

	// MaxConcurrentRequests is how many event requests are read and decoded
	// at once; more are answered 503 with Retry-After at once, before their
	// body is read. It bounds the memory that requests in flight take before
	// the memory_limiter can refuse them.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`

	// RetryAfter is the delay sent in the Retry-After header when the
	// pipeline refuses data (memory limit, full queue) and the answer is 503.
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DeduplicationConfig bounds the window in which a repeated idempotency key
// is recognised: by count and by age, whichever is reached first.
type DeduplicationConfig struct {
	// Enabled turns deduplication on.
	Enabled bool `mapstructure:"enabled"`
	// MaxKeys is how many accepted keys are remembered at most.
	MaxKeys int `mapstructure:"max_keys"`
	// Window is how long an accepted key is remembered at most.
	Window time.Duration `mapstructure:"window"`
}

// Validate reports every problem in the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.MaxBatchEvents <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_events must be positive, got %d", cfg.MaxBatchEvents))
	}
	if cfg.MaxConcurrentRequests <= 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_requests must be positive, got %d", cfg.MaxConcurrentRequests))
	}
	if cfg.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("retry_after must be at least 1s, got %s", cfg.RetryAfter))
	}
	if cfg.Deduplication.Enabled {
		if cfg.Deduplication.MaxKeys <= 0 {
			errs = append(errs, fmt.Errorf("deduplication::max_keys must be positive when deduplication is enabled, got %d", cfg.Deduplication.MaxKeys))
		}
		if cfg.Deduplication.Window <= 0 {
			errs = append(errs, fmt.Errorf("deduplication::window must be positive when deduplication is enabled, got %s", cfg.Deduplication.Window))
		}
	}
	return errors.Join(errs...)
}
