package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the zabbix exporter.
type Config struct {
	// TimeoutConfig bounds each attempt to deliver a batch (all its
	// requests, over every endpoint).
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// QueueConfig is the exporter helper's sending queue; with `storage`
	// naming a file_storage extension it survives restarts.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the exporter helper's retry with exponential backoff.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Endpoints are the trapper addresses (host:port) of the Zabbix server,
	// its HA nodes or a proxy, in order of preference.
	Endpoints []string `mapstructure:"endpoints"`
	// TLS connects with TLS and certificates (the host's "Connections from
	// host: Certificate" setting in Zabbix). Zabbix's PSK mode is not
	// available. Plain TCP while `insecure` is true and no CA is set.
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// Compress sends zlib-compressed requests.
	Compress bool `mapstructure:"compress"`
	// MaxValuesPerRequest splits a batch into requests of at most this many
	// values.
	MaxValuesPerRequest int `mapstructure:"max_values_per_request"`
	// ConnectTimeout bounds each connection attempt, so that an unreachable
	// endpoint leaves time to fail over to the next.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`

	// Host is the template of the Zabbix host name that values are sent to.
	Host string `mapstructure:"host"`
	// Job is the template of a job type's name, the {#JOB} of discovery.
	Job string `mapstructure:"job"`
	// MetricsJob is the {#JOB} of the values computed from metrics, which
	// carry no business key.
	MetricsJob string `mapstructure:"metrics_job"`

	// Discovery configures low-level discovery of job types.
	Discovery DiscoveryConfig `mapstructure:"discovery"`
	// Legacy sends the old sidecar's keys as well.
	Legacy LegacyConfig `mapstructure:"legacy"`

	// MaxRunningEntities caps the started and not yet ended entities that
	// are remembered to count running jobs per job type.
	MaxRunningEntities int `mapstructure:"max_running_entities"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DiscoveryConfig configures low-level discovery.
type DiscoveryConfig struct {
	// Key is the trapper key of the template's discovery rule.
	Key string `mapstructure:"key"`
	// Interval is how often every known job type of a host is announced
	// again, so that Zabbix does not consider their items lost.
	Interval time.Duration `mapstructure:"interval"`
	// ItemDelay is how long values of a newly announced job type are held
	// back: the time Zabbix needs to create the items and load them into
	// its configuration cache (CacheUpdateFrequency, 60 s by default, plus
	// discovery processing). Values sent earlier would be dropped.
	ItemDelay time.Duration `mapstructure:"item_delay"`
	// TriggerDelay is how long the values that the template's triggers read
	// (status, outcome, roll-up complete) of a job type whose items Zabbix
	// created later than ItemDelay wait after it took the job type's other
	// values: discovery creates the triggers after the items, and the server
	// may load them one configuration sync (CacheUpdateFrequency, 60 s by
	// default) later; a trigger ignores values that arrived before it. 0
	// sends them with the others.
	TriggerDelay time.Duration `mapstructure:"trigger_delay"`
	// MaxJobTypes caps the remembered job types; the least recently seen
	// one is forgotten first (and announced again when it comes back).
	MaxJobTypes int `mapstructure:"max_job_types"`
	// MaxRefusedTime is how long the values of a job type that Zabbix
	// refuses are sent again (through the retry, with its backoff) after
	// ItemDelay: a loaded server can take longer to create the items. Then
	// they are dropped and counted, and the job type's values are sent
	// once each until Interval has passed. 0 drops refused values at once.
	MaxRefusedTime time.Duration `mapstructure:"max_refused_time"`
	// MaxHeldValues caps the values of job types whose items Zabbix has not
	// confirmed yet that are kept in memory, gathered from every batch, to
	// be sent together and oldest first. Values beyond it are sent by their
	// own batch.
	MaxHeldValues int `mapstructure:"max_held_values"`
}

// LegacyConfig configures the old sidecar's keys wafer.<entity type>.<event
// kind>, valued duration_s when the event has one, else 1.
type LegacyConfig struct {
	// Enabled sends them, from lifecycle events (logs).
	Enabled bool `mapstructure:"enabled"`
	// Host is the template of the host they are sent to.
	Host string `mapstructure:"host"`
}

// Validate reports every problem in the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one Zabbix trapper address (host:port) is required"))
	}
	for i, ep := range cfg.Endpoints {
		host, port, err := net.SplitHostPort(ep)
		if err != nil || host == "" {
			errs = append(errs, fmt.Errorf("endpoints[%d]: %q is not host:port (the Zabbix trapper listens on port 10051 by default)", i, ep))
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("endpoints[%d]: port %q is not a port number", i, port))
		}
	}
	if cfg.MaxValuesPerRequest <= 0 {
		errs = append(errs, fmt.Errorf("max_values_per_request must be positive, got %d", cfg.MaxValuesPerRequest))
	}
	if cfg.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("connect_timeout must not be negative, got %s", cfg.ConnectTimeout))
	}
	if cfg.TimeoutConfig.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must not be negative, got %s", cfg.TimeoutConfig.Timeout))
	}
	if _, err := parseNameTemplate(cfg.Host); err != nil {
		errs = append(errs, fmt.Errorf("host: %w", err))
	}
	if _, err := parseNameTemplate(cfg.Job); err != nil {
		errs = append(errs, fmt.Errorf("job: %w", err))
	}
	if cfg.MetricsJob == "" {
		errs = append(errs, errors.New("metrics_job must not be empty"))
	}
	if cfg.Discovery.Key == "" {
		errs = append(errs, errors.New("discovery::key must name the discovery rule's trapper key"))
	}
	if cfg.Discovery.Interval <= 0 {
		errs = append(errs, fmt.Errorf("discovery::interval must be positive, got %s", cfg.Discovery.Interval))
	}
	if cfg.Discovery.ItemDelay < 0 {
		errs = append(errs, fmt.Errorf("discovery::item_delay must not be negative, got %s", cfg.Discovery.ItemDelay))
	}
	if cfg.Discovery.TriggerDelay < 0 {
		errs = append(errs, fmt.Errorf("discovery::trigger_delay must not be negative, got %s", cfg.Discovery.TriggerDelay))
	}
	if cfg.Discovery.MaxJobTypes <= 0 {
		errs = append(errs, fmt.Errorf("discovery::max_job_types must be positive, got %d", cfg.Discovery.MaxJobTypes))
	}
	if cfg.Discovery.MaxRefusedTime < 0 {
		errs = append(errs, fmt.Errorf("discovery::max_refused_time must not be negative, got %s", cfg.Discovery.MaxRefusedTime))
	}
	if cfg.Discovery.MaxHeldValues <= 0 {
		errs = append(errs, fmt.Errorf("discovery::max_held_values must be positive, got %d", cfg.Discovery.MaxHeldValues))
	}
	if cfg.Legacy.Enabled {
		if _, err := parseNameTemplate(cfg.Legacy.Host); err != nil {
			errs = append(errs, fmt.Errorf("legacy::host: %w", err))
		}
	}
	if wait := cfg.Discovery.ItemDelay + cfg.Discovery.MaxRefusedTime + cfg.Discovery.TriggerDelay; wait > 0 {
		// Values of new job types wait for their items through the retry.
		if !cfg.RetryConfig.Enabled {
			errs = append(errs, errors.New("retry_on_failure::enabled must be true while discovery::item_delay, discovery::max_refused_time or discovery::trigger_delay is positive: values of new job types wait for their items and triggers through retries"))
		} else if cfg.RetryConfig.MaxElapsedTime > 0 && cfg.RetryConfig.MaxElapsedTime <= wait {
			errs = append(errs, fmt.Errorf("retry_on_failure::max_elapsed_time (%s) must be longer than discovery::item_delay plus discovery::max_refused_time plus discovery::trigger_delay (%s)", cfg.RetryConfig.MaxElapsedTime, wait))
		}
	}
	if cfg.MaxRunningEntities <= 0 {
		errs = append(errs, fmt.Errorf("max_running_entities must be positive, got %d", cfg.MaxRunningEntities))
	}
	return errors.Join(errs...)
}
