package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// Setup prepares an application's telemetry in one call. It builds a
// TracerProvider (with NewIDGenerator), a MeterProvider and a LoggerProvider
// that export over OTLP as the standard environment variables say
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL — http/protobuf
// by default, or grpc —, the per-signal variants, OTEL_TRACES_EXPORTER,
// OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER set to none, OTEL_TRACES_SAMPLER,
// OTEL_BSP_*, OTEL_BLRP_*, OTEL_METRIC_EXPORT_INTERVAL...), with a resource
// holding the service name and version, the site and the app ID, the
// process, host and OTEL_RESOURCE_ATTRIBUTES. It registers the providers and
// the W3C propagators globally and makes a Monitor with opts the default one.
//
// Sites that run only the v1 API: when $SIDECAR_URL is set (or WithSidecar
// is given) and no OTLP endpoint is, no OTLP exporter is built and the
// lifecycle events go to the sidecar as v1 events instead.
//
// The returned function flushes everything and shuts the providers down;
// call it before the process exits. Setup fails only on invalid settings.
func Setup(ctx context.Context, opts ...Option) (shutdown func(context.Context) error, err error) {
	cfg := newConfig(opts)
	if !cfg.sidecarSet {
		if url := os.Getenv(EnvSidecarURL); url != "" && !otlpEndpointSet() {
			opts = append(opts, WithSidecar(url))
			cfg.sidecarURL, cfg.sidecarSet = url, true
		}
	}

	res, err := setupResource(ctx, cfg)
	if err != nil {
		return nil, err
	}

	var shutdowns []func(context.Context) error
	shutdownAll := func(ctx context.Context) error {
		var errs error
		// The Monitor first: its last events go out through the providers.
		for i := len(shutdowns) - 1; i >= 0; i-- {
			errs = errors.Join(errs, shutdowns[i](ctx))
		}
		return errs
	}
	fail := func(e error) (func(context.Context) error, error) {
		return nil, errors.Join(e, shutdownAll(ctx))
	}

	useOTLP := !cfg.sidecarSet || otlpEndpointSet()
	if useOTLP {
		idOpts := []IDGeneratorOption{}
		if cfg.xrayIDs {
			idOpts = append(idOpts, WithXRayTraceIDs())
		}
		tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithIDGenerator(NewIDGenerator(idOpts...))}
		if exporterEnabled("TRACES") {
			exp, err := newTraceExporter(ctx)
			if err != nil {
				return fail(fmt.Errorf("jobs: trace exporter: %w", err))
			}
			tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		}
		tp := sdktrace.NewTracerProvider(tpOpts...)
		shutdowns = append(shutdowns, tp.Shutdown)
		otel.SetTracerProvider(tp)
		opts = append(opts, WithTracerProvider(tp))

		mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		if exporterEnabled("METRICS") {
			exp, err := newMetricExporter(ctx)
			if err != nil {
				return fail(fmt.Errorf("jobs: metric exporter: %w", err))
			}
			mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		}
		mp := sdkmetric.NewMeterProvider(mpOpts...)
		shutdowns = append(shutdowns, mp.Shutdown)
		otel.SetMeterProvider(mp)
		opts = append(opts, WithMeterProvider(mp))

		lpOpts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
		if exporterEnabled("LOGS") {
			exp, err := newLogExporter(ctx)
			if err != nil {
				return fail(fmt.Errorf("jobs: log exporter: %w", err))
			}
			lpOpts = append(lpOpts, sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		}
		lp := sdklog.NewLoggerProvider(lpOpts...)
		// The Monitor's own records never repeat a key, so they go through a
		// provider that does not look for repeated keys (a quarter of the CPU
		// time of a job), with the same processor: one queue, one exporter.
		// The global provider, for everything else, keeps checking.
		jobsLP := sdklog.NewLoggerProvider(append(lpOpts, sdklog.WithAllowKeyDuplication())...)
		shutdowns = append(shutdowns, lp.Shutdown, jobsLP.Shutdown)
		global.SetLoggerProvider(lp)
		opts = append(opts, WithLoggerProvider(jobsLP))

		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}

	m := NewMonitor(opts...)
	shutdowns = append(shutdowns, m.Shutdown)
	SetDefault(m)
	return shutdownAll, nil
}

func setupResource(ctx context.Context, cfg config) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		attribute.String(semconv.AttrServiceName, cfg.serviceName),
	}
	if cfg.serviceVersion != "" {
		attrs = append(attrs, attribute.String(semconv.AttrServiceVersion, cfg.serviceVersion))
	}
	if cfg.site != "" {
		attrs = append(attrs, attribute.String(semconv.AttrSiteID, cfg.site))
	}
	attrs = append(attrs, appIDAttributes(cfg.appID)...)
	// The options go last: what the code says explicitly wins over the
	// environment, and they already fell back to it.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithFromEnv(),
		resource.WithAttributes(attrs...),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("jobs: resource: %w", err)
	}
	if err != nil {
		// A partial resource (a detector failed) is still worth using.
		otel.Handle(err)
	}
	return res, nil
}

func otlpEndpointSet() bool {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// exporterEnabled reads OTEL_<SIGNAL>_EXPORTER; only "none" and "otlp" (the
// default) mean something here.
func exporterEnabled(signal string) bool {
	return strings.TrimSpace(os.Getenv("OTEL_"+signal+"_EXPORTER")) != "none"
}

func protocol(signal string) string {
	p := os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	return strings.TrimSpace(p)
}

func checkProtocol(p string) error {
	switch p {
	case "", "http/protobuf", "grpc":
		return nil
	}
	return fmt.Errorf("unsupported OTLP protocol %q: use http/protobuf or grpc", p)
}

func newTraceExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	p := protocol("TRACES")
	if err := checkProtocol(p); err != nil {
		return nil, err
	}
	if p == "grpc" {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

// deltaTemporality is what the collector's pipelines expect (see
// docs/semantic-conventions.md) unless the environment asks otherwise.
func deltaTemporality(sdkmetric.InstrumentKind) metricdata.Temporality {
	return metricdata.DeltaTemporality
}

func newMetricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	p := protocol("METRICS")
	if err := checkProtocol(p); err != nil {
		return nil, err
	}
	preferDelta := os.Getenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") == ""
	if p == "grpc" {
		var o []otlpmetricgrpc.Option
		if preferDelta {
			o = append(o, otlpmetricgrpc.WithTemporalitySelector(deltaTemporality))
		}
		return otlpmetricgrpc.New(ctx, o...)
	}
	var o []otlpmetrichttp.Option
	if preferDelta {
		o = append(o, otlpmetrichttp.WithTemporalitySelector(deltaTemporality))
	}
	return otlpmetrichttp.New(ctx, o...)
}

func newLogExporter(ctx context.Context) (sdklog.Exporter, error) {
	p := protocol("LOGS")
	if err := checkProtocol(p); err != nil {
		return nil, err
	}
	if p == "grpc" {
		return otlploggrpc.New(ctx)
	}
	return otlploghttp.New(ctx)
}
