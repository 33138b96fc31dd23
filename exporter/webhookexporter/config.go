package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Payload formats.
const (
	// FormatV1 is the old five-key event JSON of the v1 API (logs pipeline).
	FormatV1 = "v1"
	// FormatCloudEvents is CloudEvents 1.0 JSON (logs and traces pipelines).
	FormatCloudEvents = "cloudevents"
	// FormatRecord is one flat JSON object per finished entity (traces pipeline).
	FormatRecord = "record"
	// FormatLocalAPI is the v1 event as the old sidecar's Local API takes it
	// (logs pipeline): the endpoint is the Local API's base URL, batches are
	// bare arrays to /v1/ingest/events:batch whose answer's "failed" count is
	// read, single events go to /v1/ingest/events, every event has a
	// business key and a time the Local API's skew limit lets through.
	FormatLocalAPI = "local_api"
)

// Delivery modes.
const (
	// ModeSingle sends one item per request.
	ModeSingle = "single"
	// ModeBatch sends up to max_batch_events items per request.
	ModeBatch = "batch"
)

// Batch envelopes of the v1 and record formats.
const (
	// EnvelopeArray is a bare JSON array of items.
	EnvelopeArray = "array"
	// EnvelopeObject is {"events":[...],"count":N}.
	EnvelopeObject = "object"
)

var (
	formats      = []string{FormatV1, FormatCloudEvents, FormatRecord, FormatLocalAPI}
	methods      = []string{http.MethodPost, http.MethodPut, http.MethodPatch}
	modes        = []string{ModeSingle, ModeBatch}
	envelopes    = []string{EnvelopeArray, EnvelopeObject}
	entityTypes  = []string{semconv.EntityTypeJob, semconv.EntityTypeSubjob}
	knownKinds   = []string{semconv.KindStarted, semconv.KindProgress, semconv.KindMetric, semconv.KindFinished, semconv.KindError, semconv.KindCanceled, semconv.KindStalled, semconv.KindRecovered, semconv.KindTimeout, semconv.KindLateSubjobs, semconv.KindOrphanSubjobs, semconv.KindMissed, semconv.KindLateStart}
	knownOutcome = []string{semconv.OutcomeSuccess, semconv.OutcomeFailure, semconv.OutcomeCancellation, semconv.OutcomeError, semconv.OutcomeTimeout}
)

// Config of the webhook exporter.
type Config struct {
	// ClientConfig is the collector's HTTP client configuration: endpoint
	// (the full URL every request is POSTed to), TLS, headers, auth
	// extension, compression, timeout and proxy.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// QueueConfig is the exporter helper's sending queue; with `storage`
	// naming a file_storage extension it survives restarts.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// RetryConfig is the exporter helper's retry with exponential backoff.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Format is the payload format: v1, cloudevents or record.
	Format string `mapstructure:"format"`
	// Mode is single (one item per request) or batch.
	Mode string `mapstructure:"mode"`
	// BatchEnvelope shapes a v1 or record batch: array or object
	// ({"events":[...],"count":N}). A CloudEvents batch is always an array.
	BatchEnvelope string `mapstructure:"batch_envelope"`
	// MaxBatchEvents is the largest number of items in one batch request.
	MaxBatchEvents int `mapstructure:"max_batch_events"`
	// Method is the HTTP method of every request: POST, PUT or PATCH.
	Method string `mapstructure:"method"`

	// Signing signs every request with HMAC-SHA256.
	Signing SigningConfig `mapstructure:"signing"`
	// IdempotencyHeader names the header that carries the idempotency key;
	// empty to send none.
	IdempotencyHeader string `mapstructure:"idempotency_header"`

	// CloudEvents settings of the cloudevents format.
	CloudEvents CloudEventsConfig `mapstructure:"cloudevents"`
	// LocalAPI settings of the local_api format.
	LocalAPI LocalAPIConfig `mapstructure:"local_api"`

	// Filters select what is sent. An item is sent when the list is empty or
	// when it matches at least one filter.
	Filters []FilterConfig `mapstructure:"filters"`

	// DeadLetter keeps the payloads an endpoint rejected for good.
	DeadLetter DeadLetterConfig `mapstructure:"dead_letter"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SigningConfig configures the HMAC-SHA256 request signature.
type SigningConfig struct {
	// Secret is the HMAC key; empty sends no signature.
	Secret configopaque.String `mapstructure:"secret"`
	// SignatureHeader carries "sha256=" and the hex HMAC of
	// timestamp + "." + body.
	SignatureHeader string `mapstructure:"signature_header"`
	// TimestampHeader carries the Unix time in seconds at which the request
	// was signed. It is sent with every request, signed or not.
	TimestampHeader string `mapstructure:"timestamp_header"`
}

// CloudEventsConfig configures the cloudevents format.
type CloudEventsConfig struct {
	// Source is the CloudEvents `source` attribute.
	Source string `mapstructure:"source"`
	// TypePrefix starts every CloudEvents `type`, e.g.
	// "com.wafermonitor" gives "com.wafermonitor.job.finished".
	TypePrefix string `mapstructure:"type_prefix"`
}

// LocalAPIConfig configures the local_api format.
type LocalAPIConfig struct {
	// MaxTimeSkew is how far an event's time may be from the time it is
	// sent. The Local API refuses events more than 10 minutes off its clock,
	// so an event further off (a backlog after an outage, a client with a
	// wrong clock) is sent with the send time as event.at and its own time in
	// event.metadata.original_at. 0 sends every event with its own time.
	MaxTimeSkew time.Duration `mapstructure:"max_time_skew"`
}

// FilterConfig matches an item when every list that is not empty contains
// the item's value.
type FilterConfig struct {
	// EventKinds: started, progress, metric, finished, error, canceled,
	// stalled, recovered, timeout, late_subjobs, orphan_subjobs, missed,
	// late_start. A finished entity (traces pipeline) has the kind its
	// status implies: canceled, timeout, or else finished.
	EventKinds []string `mapstructure:"event_kinds"`
	// Outcomes: success, failure, cancellation, error, timeout
	// (cicd.pipeline.result). Events that are not terminal have no outcome.
	Outcomes []string `mapstructure:"outcomes"`
	// Statuses: running, succeeded, failed, canceled, timed_out or a
	// client's own value (wafer.status).
	Statuses []string `mapstructure:"statuses"`
	// EntityTypes: job, subjob.
	EntityTypes []string `mapstructure:"entity_types"`
	// Sites: wafer.site.id values.
	Sites []string `mapstructure:"sites"`
	// Apps: service.name or wafer.app.id values.
	Apps []string `mapstructure:"apps"`
}

// DeadLetterConfig configures the dead-letter file.
type DeadLetterConfig struct {
	// Path of the JSON Lines file; empty to only log rejected payloads.
	Path string `mapstructure:"path"`
	// MaxSizeMB is the size at which the file is rotated.
	MaxSizeMB int `mapstructure:"max_size_mb"`
	// MaxBackups is how many rotated files are kept (0 keeps all).
	MaxBackups int `mapstructure:"max_backups"`
	// MaxAgeDays removes rotated files older than this (0 keeps them).
	MaxAgeDays int `mapstructure:"max_age_days"`
}

// Validate reports every problem in the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ClientConfig.Endpoint == "" {
		errs = append(errs, errors.New("endpoint is required: the URL that events are POSTed to"))
	} else if u, err := url.Parse(cfg.ClientConfig.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint %q must be an http:// or https:// URL", cfg.ClientConfig.Endpoint))
	}
	if !slices.Contains(formats, cfg.Format) {
		errs = append(errs, fmt.Errorf("format must be one of %s, got %q", strings.Join(formats, ", "), cfg.Format))
	}
	if !slices.Contains(modes, cfg.Mode) {
		errs = append(errs, fmt.Errorf("mode must be one of %s, got %q", strings.Join(modes, ", "), cfg.Mode))
	}
	if !slices.Contains(envelopes, cfg.BatchEnvelope) {
		errs = append(errs, fmt.Errorf("batch_envelope must be one of %s, got %q", strings.Join(envelopes, ", "), cfg.BatchEnvelope))
	}
	if cfg.MaxBatchEvents <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_events must be positive, got %d", cfg.MaxBatchEvents))
	}
	if !slices.Contains(methods, cfg.Method) {
		errs = append(errs, fmt.Errorf("method must be one of %s, got %q", strings.Join(methods, ", "), cfg.Method))
	}
	if cfg.Format == FormatLocalAPI {
		errs = append(errs, cfg.validateLocalAPI()...)
	}
	if !httpguts.ValidHeaderFieldName(cfg.Signing.SignatureHeader) {
		errs = append(errs, fmt.Errorf("signing::signature_header must be a valid HTTP header name, got %q", cfg.Signing.SignatureHeader))
	}
	if !httpguts.ValidHeaderFieldName(cfg.Signing.TimestampHeader) {
		errs = append(errs, fmt.Errorf("signing::timestamp_header must be a valid HTTP header name, got %q", cfg.Signing.TimestampHeader))
	}
	if cfg.IdempotencyHeader != "" && !httpguts.ValidHeaderFieldName(cfg.IdempotencyHeader) {
		errs = append(errs, fmt.Errorf("idempotency_header must be a valid HTTP header name or empty, got %q", cfg.IdempotencyHeader))
	}
	if cfg.Format == FormatCloudEvents {
		if cfg.CloudEvents.Source == "" {
			errs = append(errs, errors.New("cloudevents::source must not be empty"))
		}
		if cfg.CloudEvents.TypePrefix == "" {
			errs = append(errs, errors.New("cloudevents::type_prefix must not be empty"))
		}
	}
	for i, f := range cfg.Filters {
		errs = append(errs, f.validate(fmt.Sprintf("filters::%d", i))...)
	}
	if cfg.DeadLetter.MaxSizeMB <= 0 {
		errs = append(errs, fmt.Errorf("dead_letter::max_size_mb must be positive, got %d", cfg.DeadLetter.MaxSizeMB))
	}
	if cfg.DeadLetter.MaxBackups < 0 {
		errs = append(errs, fmt.Errorf("dead_letter::max_backups must not be negative, got %d", cfg.DeadLetter.MaxBackups))
	}
	if cfg.DeadLetter.MaxAgeDays < 0 {
		errs = append(errs, fmt.Errorf("dead_letter::max_age_days must not be negative, got %d", cfg.DeadLetter.MaxAgeDays))
	}
	return errors.Join(errs...)
}

// validateLocalAPI checks what the old Local API needs: its base URL, POST,
// and batches as bare arrays (it answers 422 to an object).
func (cfg *Config) validateLocalAPI() []error {
	var errs []error
	if u, err := url.Parse(cfg.ClientConfig.Endpoint); err == nil {
		for _, suffix := range []string{localAPISinglePath, localAPIBatchPath, "/v1/ingest/batch", "/v1/events/batch", "/v1/event"} {
			if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), suffix) {
				errs = append(errs, fmt.Errorf("endpoint %q: with format %q the endpoint is the Local API's base URL (e.g. http://local-api:18000), without %s: the paths are added", cfg.ClientConfig.Endpoint, FormatLocalAPI, suffix))
				break
			}
		}
	}
	if cfg.Method != http.MethodPost {
		errs = append(errs, fmt.Errorf("method must be POST with format %q (the Local API takes nothing else), got %q", FormatLocalAPI, cfg.Method))
	}
	if cfg.BatchEnvelope != EnvelopeArray {
		errs = append(errs, fmt.Errorf("batch_envelope must be %q with format %q: the Local API answers 422 to any other batch", EnvelopeArray, FormatLocalAPI))
	}
	if cfg.LocalAPI.MaxTimeSkew < 0 {
		errs = append(errs, fmt.Errorf("local_api::max_time_skew must not be negative, got %s", cfg.LocalAPI.MaxTimeSkew))
	}
	return errs
}

func (f *FilterConfig) validate(prefix string) []error {
	var errs []error
	if len(f.EventKinds)+len(f.Outcomes)+len(f.Statuses)+len(f.EntityTypes)+len(f.Sites)+len(f.Apps) == 0 {
		errs = append(errs, fmt.Errorf("%s matches everything: set at least one of event_kinds, outcomes, statuses, entity_types, sites, apps", prefix))
	}
	check := func(field string, values, allowed []string) {
		for _, v := range values {
			if !slices.Contains(allowed, v) {
				errs = append(errs, fmt.Errorf("%s::%s: unknown value %q, expected one of %s", prefix, field, v, strings.Join(allowed, ", ")))
			}
		}
	}
	check("event_kinds", f.EventKinds, knownKinds)
	check("outcomes", f.Outcomes, knownOutcome)
	check("entity_types", f.EntityTypes, entityTypes)
	notEmpty := func(field string, values []string) {
		if slices.Contains(values, "") {
			errs = append(errs, fmt.Errorf("%s::%s: empty value", prefix, field))
		}
	}
	notEmpty("statuses", f.Statuses)
	notEmpty("sites", f.Sites)
	notEmpty("apps", f.Apps)
	return errs
}
