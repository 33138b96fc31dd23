package jobs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log/global"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// restoreGlobals undoes what Setup registers.
func restoreGlobals(t *testing.T) {
	tp, mp, lp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), global.GetLoggerProvider(), otel.GetTextMapPropagator()
	def := defaultMonitor.Load()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		global.SetLoggerProvider(lp)
		otel.SetTextMapPropagator(prop)
		defaultMonitor.Store(def)
	})
}

func TestSetupExportsOverOTLP(t *testing.T) {
	restoreGlobals(t)
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv(EnvSiteID, "fab2")
	t.Setenv(EnvSidecarURL, "http://127.0.0.1:1") // ignored: an OTLP endpoint is set

	shutdown, err := Setup(context.Background(), WithService("lotrun", "0.1.0"), WithXRayIDs())
	if err != nil {
		t.Fatal(err)
	}
	if Default().cfg.site != "fab2" || Default().sidecar != nil {
		t.Errorf("default monitor: site %q, sidecar %v", Default().cfg.site, Default().sidecar)
	}
	ctx, job := StartJob(context.Background(), "lot-1")
	_ = RunSubjob(ctx, "w1", func(context.Context, *Job) error { return nil })
	job.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/v1/traces", "/v1/metrics", "/v1/logs"} {
		if paths[p] == 0 {
			t.Errorf("nothing exported to %s (got %v)", p, paths)
		}
	}
}

func TestSetupSidecarOnly(t *testing.T) {
	restoreGlobals(t)
	srv := newV1Server(t, always(http.StatusOK))
	t.Setenv(EnvSidecarURL, srv.URL)
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"} {
		t.Setenv(k, "")
	}
	shutdown, err := Setup(context.Background(), WithSite("fab1"))
	if err != nil {
		t.Fatal(err)
	}
	_ = RunJob(context.Background(), "lot-2", func(context.Context, *Job) error { return nil })
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.received()); n != 2 {
		t.Errorf("%d v1 events, want started and finished", n)
	}
}

func TestSetupRejectsUnknownProtocol(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := Setup(context.Background()); err == nil {
		t.Error("Setup accepted http/json")
	}
}

func TestXRayJobIDs(t *testing.T) {
	h := newHarness(t, WithXRayIDs())
	_, job := h.m.StartJob(context.Background(), "lot")
	job.End()
	id := h.ended()[0].SpanContext().TraceID()
	want := uint32(h.clock.now().Unix())
	if got := uint32(id[0])<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3]); got != want {
		t.Errorf("trace ID %s starts with %d, want the Unix time %d", id, got, want)
	}
	if u := mustUUID(t, job.ID()); u[6]>>4 != 4 || u[8]>>6 != 2 {
		t.Errorf("%s is not a version 4 UUID", job.ID())
	}
}

func TestParseUUID(t *testing.T) {
	for _, s := range []string{jobUUID, "A1B2C3D4-0000-4000-8000-000000000001", "{" + jobUUID + "}",
		"urn:uuid:" + jobUUID, "a1b2c3d4000040008000000000000001"} {
		u, err := ParseUUID(s)
		if err != nil || formatUUID(u) != jobUUID {
			t.Errorf("ParseUUID(%q) = %s, %v", s, formatUUID(u), err)
		}
	}
	for _, s := range []string{"", "lot-4711", "a1b2c3d4-0000-4000-8000-00000000000g", "a1b2c3d4+0000-4000-8000-000000000001"} {
		if _, err := ParseUUID(s); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", s)
		}
	}
}

// TestSetupResourceAppID: the app id on the OTLP resource is what the
// wafermonitor receiver writes for the same id sent over v1: a UUID in
// canonical form, any other id as its name-based UUID (the value
// docs/semantic-conventions.md gives for "job-123") with the text kept.
func TestSetupResourceAppID(t *testing.T) {
	tests := []struct {
		name, appID, wantID, wantOriginal string
	}{
		{"none", "", "", ""},
		{"blank", "  ", "", ""},
		{"UUID", "A1B2C3D4-0000-4000-8000-000000000001", jobUUID, ""},
		{"UUID in braces", "{" + jobUUID + "}", jobUUID, ""},
		{"name", "job-123", "5f4ff086-8ba6-572c-83ff-ea88802f7964", "job-123"},
		{"nil UUID", "00000000-0000-0000-0000-000000000000", formatUUID(ids.FromName("00000000-0000-0000-0000-000000000000")), "00000000-0000-0000-0000-000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := setupResource(context.Background(), config{serviceName: "svc", appID: tt.appID})
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.Set().Value(semconv.AttrAppID)
			original, _ := res.Set().Value(semconv.AttrAppIDOriginal)
			if id.AsString() != tt.wantID || original.AsString() != tt.wantOriginal {
				t.Errorf("app id %q, original %q; want %q, %q", id.AsString(), original.AsString(), tt.wantID, tt.wantOriginal)
			}
		})
	}
}
