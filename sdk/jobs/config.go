package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Environment variables read in addition to the standard OTEL_* ones. The
// first two are the ones the older clients of the sidecar read.
const (
	// EnvSidecarURL is the base URL of the v1 API, e.g. http://localhost:17000.
	EnvSidecarURL = "SIDECAR_URL"
	// EnvSiteID names the factory site, e.g. fab1.
	EnvSiteID = "SITE_ID"
)

// config holds the settings of a Monitor and of Setup.
type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	loggerProvider log.LoggerProvider

	site           string
	serviceName    string
	serviceVersion string
	appID          string

	sidecarURL      string
	sidecarSet      bool
	sidecarQueue    int
	sidecarInterval time.Duration

	eventQueue     int
	memorySampling time.Duration
	sampleMaxAge   time.Duration
	xrayIDs        bool

	// now is the clock; tests replace it.
	now func() time.Time
}

func newConfig(opts []Option) config {
	c := config{
		sidecarQueue:    2048,
		sidecarInterval: time.Second,
		eventQueue:      4096,
		sampleMaxAge:    time.Millisecond,
		now:             time.Now,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.loggerProvider == nil {
		c.loggerProvider = global.GetLoggerProvider()
	}
	if c.site == "" {
		c.site = os.Getenv(EnvSiteID)
	}
	if c.site == "" {
		c.site = resourceAttrFromEnv("wafer.site.id")
	}
	if c.serviceName == "" {
		c.serviceName = defaultServiceName()
	}
	if c.serviceVersion == "" {
		c.serviceVersion = resourceAttrFromEnv("service.version")
	}
	return c
}

// defaultServiceName follows OpenTelemetry's precedence: OTEL_SERVICE_NAME,
// then service.name in OTEL_RESOURCE_ATTRIBUTES, then the executable's name
// (where the OpenTelemetry SDK would say unknown_service:<executable>, the
// plain name makes a better application name in the backends).
func defaultServiceName() string {
	if s := os.Getenv("OTEL_SERVICE_NAME"); s != "" {
		return s
	}
	if s := resourceAttrFromEnv("service.name"); s != "" {
		return s
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Base(exe)
	}
	return "unknown_service"
}

// resourceAttrFromEnv reads one key of OTEL_RESOURCE_ATTRIBUTES
// (key1=value1,key2=value2, values percent-encoded).
func resourceAttrFromEnv(key string) string {
	for _, kv := range strings.Split(os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(percentDecode(v))
		}
	}
	return ""
}

func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b.WriteByte(h<<4 | l)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Option configures a Monitor (NewMonitor) and Setup.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the TracerProvider that creates the spans. The
// default is the global one (otel.GetTracerProvider). Give it an
// IDGenerator from NewIDGenerator so that span IDs follow the shared mapping.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets the MeterProvider for the duration, CPU, memory
// and completion metrics. The default is the global one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithLoggerProvider sets the LoggerProvider for the lifecycle log records.
// The default is the global one (go.opentelemetry.io/otel/log/global).
func WithLoggerProvider(lp log.LoggerProvider) Option {
	return optionFunc(func(c *config) { c.loggerProvider = lp })
}

// WithSite names the factory site, e.g. "fab1". The default is $SITE_ID,
// else wafer.site.id in $OTEL_RESOURCE_ATTRIBUTES, else empty.
func WithSite(site string) Option {
	return optionFunc(func(c *config) { c.site = site })
}

// WithService sets the application's name and version. The default name is
// $OTEL_SERVICE_NAME, else service.name in $OTEL_RESOURCE_ATTRIBUTES, else the
// executable's name; the default version is service.version in
// $OTEL_RESOURCE_ATTRIBUTES, else empty.
func WithService(name, version string) Option {
	return optionFunc(func(c *config) { c.serviceName, c.serviceVersion = name, version })
}

// WithAppID sets the application's UUID, as older clients report it. The
// default is none. An id that is not a UUID ("my-app") is reported as the
// wafermonitor receiver reports it when an old client sends it: as its
// name-based UUID (ids.FromName), with the text in wafer.app.id.original.
func WithAppID(id string) Option {
	return optionFunc(func(c *config) { c.appID = id })
}

// WithSidecar sends every lifecycle event also as a v1 event to the
// wafermonitor receiver or the old sidecar at baseURL (e.g.
// "http://localhost:17000"), in batches, from a bounded queue. The default is
// not to send v1 events; Setup uses $SIDECAR_URL when no OTLP endpoint is
// configured. The receiver turns v1 events into spans, log records and
// metrics of its own, so use it where the site runs only the v1 API: with an
// OTLP pipeline into the same collector everything would arrive twice.
func WithSidecar(baseURL string) Option {
	return optionFunc(func(c *config) {
		c.sidecarURL = strings.TrimRight(baseURL, "/")
		c.sidecarSet = true
	})
}

// WithSidecarQueue sets how many v1 events wait at most for sending; more are
// dropped and counted. The default is 2048.
func WithSidecarQueue(size int) Option {
	return optionFunc(func(c *config) {
		if size > 0 {
			c.sidecarQueue = size
		}
	})
}

// WithSidecarInterval sets how long v1 events wait at most before they are
// sent together. The default is one second.
func WithSidecarInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.sidecarInterval = d
		}
	})
}

// WithEventQueue sets how many lifecycle events wait at most for the
// goroutine that writes them to the providers as log records, metric
// recordings and v1 events, and that ends an entity's span along with its
// terminal event. The goroutine runs while events are queued and
// writes them right away, in order; when the queue is full, the goroutine
// that reports an event writes the queued ones and its own itself, so none is
// dropped. 0 writes every event in the goroutine that reports it. The
// default is 4096. Monitor.ForceFlush and Monitor.Shutdown write what is
// queued.
func WithEventQueue(size int) Option {
	return optionFunc(func(c *config) {
		if size >= 0 {
			c.eventQueue = size
		}
	})
}

// WithMemorySampling samples the resident set size every interval in the
// background, so that a peak between an entity's start, progress reports
// and end is seen. The default is 0: no background sampling.
func WithMemorySampling(interval time.Duration) Option {
	return optionFunc(func(c *config) { c.memorySampling = interval })
}

// WithSampleMaxAge sets how old a CPU and memory sample may be and still be
// used for an entity's start or end. Sampling the process costs a few system
// calls; many subjobs starting and ending together share one sample. The
// default is one millisecond; 0 samples every time.
func WithSampleMaxAge(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d >= 0 {
			c.sampleMaxAge = d
		}
	})
}

// WithXRayIDs makes trace IDs acceptable to AWS X-Ray, which wants the first
// four bytes to be the start time in Unix seconds: the UUIDs of new jobs
// begin with the current time (they remain valid version 4 UUIDs), and in
// Setup the TracerProvider's IDGenerator does the same for other traces. Jobs
// whose UUID the application gives keep it. The default is random UUIDs.
func WithXRayIDs() Option {
	return optionFunc(func(c *config) { c.xrayIDs = true })
}

// StartOption configures one job or subjob when it starts.
type StartOption interface {
	applyStart(*startConfig)
}

type startOptionFunc func(*startConfig)

func (f startOptionFunc) applyStart(c *startConfig) { f(c) }

type startConfig struct {
	id          UUID
	hasID       bool
	parent      *Job
	parentID    UUID
	hasParentID bool
	businessKey string
	hasKey      bool
	attrs       []attribute.KeyValue
	expected    int
	hasExpected bool
}

// WithID gives the entity the UUID id, e.g. one that a scheduler assigned, so
// that other processes can report on the same entity. The default is a new
// random UUID. An id that does not parse as a UUID is reported to the error
// handler and replaced by a random one.
func WithID(id string) StartOption {
	return startOptionFunc(func(c *startConfig) {
		u, err := ParseUUID(id)
		if err != nil {
			otel.Handle(err)
			return
		}
		c.id, c.hasID = u, true
	})
}

// WithParent makes a subjob a child of job. The default is the job in the
// context passed to StartSubjob.
func WithParent(job *Job) StartOption {
	return startOptionFunc(func(c *startConfig) { c.parent = job })
}

// WithParentID makes a subjob a child of the job whose UUID is id, such as
// a job that another process started. The default is the job in the context
// passed to StartSubjob.
func WithParentID(id string) StartOption {
	return startOptionFunc(func(c *startConfig) {
		u, err := ParseUUID(id)
		if err != nil {
			otel.Handle(err)
			return
		}
		c.parentID, c.hasParentID = u, true
	})
}

// WithBusinessKey sets a subjob's business key. The default is its parent
// job's business key (the application's name for the job, e.g. "lot-4711").
func WithBusinessKey(key string) StartOption {
	return startOptionFunc(func(c *startConfig) { c.businessKey, c.hasKey = key, true })
}

// WithAttributes adds attributes to the entity's span and started event.
func WithAttributes(attrs ...attribute.KeyValue) StartOption {
	return startOptionFunc(func(c *startConfig) { c.attrs = append(c.attrs, attrs...) })
}

// WithExpectedSubjobs declares how many subjobs a job will run, so that the
// collector can tell a complete job from one that lost subjobs.
func WithExpectedSubjobs(n int) StartOption {
	return startOptionFunc(func(c *startConfig) { c.expected, c.hasExpected = n, true })
}
