package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// defaultMaxRequestBodySize is confighttp's, which applies when
// max_request_body_size is not set.
const defaultMaxRequestBodySize = 20 << 20

type wafermonitorReceiver struct {
	cfg      *Config
	settings receiver.Settings

	nextLogs    consumer.Logs
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics

	obsrep    *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	counters  *counters
	admission *admission
	dedup     *deduplicator
	metrics   *cumulativeMetrics
	emitter   *metricsEmitter
	conv      converter
	routes    map[string]route
	now       func() time.Time
	health    health

	server     *http.Server
	shutdownWG sync.WaitGroup
	stopping   atomic.Bool
}

func newReceiver(cfg *Config, set receiver.Settings) (*wafermonitorReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	r := &wafermonitorReceiver{
		cfg:       cfg,
		settings:  set,
		obsrep:    obsrep,
		telemetry: tb,
		counters:  newCounters(),
		admission: newAdmission(admissionConfig(cfg, set.Logger), maxBodySize(cfg)),
		conv:      converter{version: set.BuildInfo.Version},
		now:       time.Now,
	}
	r.health.now = func() time.Time { return r.now() }
	r.health.id = set.ID
	r.admission.waited = r.counters.countWait
	if err := r.counters.register(tb); err != nil {
		return nil, err
	}
	if cfg.Deduplication.Enabled {
		r.dedup = newDeduplicator(cfg.Deduplication.MaxKeys, cfg.Deduplication.Window)
	}
	r.metrics = newJobMetrics(set.Logger, tb)
	r.routes = r.newRoutes()
	return r, nil
}

// admissionConfig is the admission section with the deprecated
// max_concurrent_requests taken into account.
func admissionConfig(cfg *Config, logger *zap.Logger) AdmissionConfig {
	ac := cfg.Admission
	if cfg.MaxConcurrentRequests > 0 {
		msg := "max_concurrent_requests is deprecated: requests are now bounded by the bytes they hold (admission::max_bytes_in_flight) and wait instead of being refused; it is taken as admission::max_concurrent_decodes"
		if ac.MaxConcurrentDecodes > 0 {
			msg = "max_concurrent_requests is deprecated and ignored: admission::max_concurrent_decodes is set"
		} else {
			ac.MaxConcurrentDecodes = cfg.MaxConcurrentRequests
		}
		logger.Warn(msg, zap.Int("max_concurrent_requests", cfg.MaxConcurrentRequests))
	}
	return ac
}

// maxBodySize is the effective max_request_body_size.
func maxBodySize(cfg *Config) int64 {
	if cfg.MaxRequestBodySize > 0 {
		return cfg.MaxRequestBodySize
	}
	return defaultMaxRequestBodySize
}

// Start listens on the configured endpoint.
func (r *wafermonitorReceiver) Start(ctx context.Context, host component.Host) error {
	r.health.setHost(host)
	if r.nextMetrics != nil {
		r.emitter = &metricsEmitter{metrics: r.metrics, conv: &r.conv, next: r.nextMetrics, obsrep: r.obsrep,
			logger: r.settings.Logger, interval: r.cfg.MetricsInterval, now: func() time.Time { return r.now() }}
	}
	srv, err := r.cfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings,
		http.HandlerFunc(r.route), confighttp.WithErrorHandler(r.writeHTTPError))
	if err != nil {
		return err
	}
	// Health probes (Kubernetes, load balancers) carry no credentials: they
	// are answered before authentication and the other middlewares.
	api := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isHealthPath(normalizePath(req.URL.Path)) {
			r.route(w, req)
			return
		}
		api.ServeHTTP(w, req)
	})
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("wafermonitor receiver cannot listen on %q: %w", r.cfg.Endpoint, err)
	}
	r.server = srv
	if r.emitter != nil {
		r.emitter.start()
	}
	r.settings.Logger.Info("Starting v1 event API", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Add(1)
	go func() {
		defer r.shutdownWG.Done()
		if errHTTP := srv.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	}()
	return nil
}

// Shutdown stops accepting, lets requests in flight finish, closes the
// listener and hands the metrics counted since the last interval to the
// pipeline (which still runs: the collector stops receivers first).
func (r *wafermonitorReceiver) Shutdown(ctx context.Context) error {
	r.stopping.Store(true)
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	if r.emitter != nil {
		if errEmit := r.emitter.shutdown(ctx); errEmit != nil {
			r.settings.Logger.Warn("The job metrics of the last interval were not handed to the pipeline", zap.Error(errEmit))
		}
	}
	r.telemetry.Shutdown()
	return err
}
