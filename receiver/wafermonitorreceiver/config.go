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

	// Admission bounds what event requests in flight hold, and how long a
	// request waits for room before it is answered 503.
	Admission AdmissionConfig `mapstructure:"admission"`

	// MaxConcurrentRequests is deprecated: it bounded requests by count and
	// answered 503 at once above it. When set, it is taken as
	// admission::max_concurrent_decodes (unless that is set too), and a
	// warning is logged.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`

	// MetricsInterval is how often the cumulative job metrics are handed to
	// the metrics pipeline: the series updated since the last time, with
	// their totals. A total shows an event at most this long after it was
	// accepted.
	MetricsInterval time.Duration `mapstructure:"metrics_interval"`

	// RetryAfter is the delay sent in the Retry-After header when the
	// pipeline refuses data (memory limit, full queue) and the answer is 503.
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// AdmissionConfig bounds the requests in flight by the bytes they hold, not
// by their number, so that many small requests of old clients are all
// served while a few large ones cannot exhaust memory.
type AdmissionConfig struct {
	// MaxBytesInFlight is how many bytes of request bodies the requests in
	// flight hold at most: from the moment their body is read until they
	// are answered. A request whose bytes do not fit waits. It is raised to
	// max_request_body_size when smaller, so that the largest allowed body
	// always fits.
	MaxBytesInFlight int64 `mapstructure:"max_bytes_in_flight"`
	// MaxConcurrentDecodes is how many requests are decoded and handed to
	// the pipeline at once, once their body has been read; 0 means one per
	// CPU the Go runtime uses (GOMAXPROCS).
	MaxConcurrentDecodes int `mapstructure:"max_concurrent_decodes"`
	// MaxWait is the longest a request waits, in all, for room among the
	// bytes in flight, for a decoder, or for the outcome of another request
	// carrying the same idempotency key; then it is answered 503 with
	// Retry-After. Keep it below the clients' timeout (the old Python SDK's
	// is 5 s).
	MaxWait time.Duration `mapstructure:"max_wait"`
}

// DeduplicationConfig bounds the window in which a repeated idempotency key
// is recognised: by count and by age, whichever is reached first.
type DeduplicationConfig struct {
	// Enabled turns deduplication on.
	Enabled bool `mapstructure:"enabled"`
	// MaxKeys is how many accepted keys are remembered at most. Every key
	// costs the same memory whatever its length (a digest is kept, not the
	// key), so this bounds the store's bytes too.
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
	if cfg.MaxConcurrentRequests < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_requests (deprecated: use admission::max_concurrent_decodes) must not be negative, got %d", cfg.MaxConcurrentRequests))
	}
	if cfg.Admission.MaxBytesInFlight <= 0 {
		errs = append(errs, fmt.Errorf("admission::max_bytes_in_flight must be positive, got %d", cfg.Admission.MaxBytesInFlight))
	}
	if cfg.Admission.MaxConcurrentDecodes < 0 {
		errs = append(errs, fmt.Errorf("admission::max_concurrent_decodes must not be negative (0 means one per CPU), got %d", cfg.Admission.MaxConcurrentDecodes))
	}
	if cfg.Admission.MaxWait <= 0 {
		errs = append(errs, fmt.Errorf("admission::max_wait must be positive, got %s", cfg.Admission.MaxWait))
	}
	if cfg.MetricsInterval <= 0 {
		errs = append(errs, fmt.Errorf("metrics_interval must be positive, got %s", cfg.MetricsInterval))
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
