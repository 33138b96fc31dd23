package wafermonitorreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver/internal/metadata"
)

// fuzzPaths are the event paths of the v1 API, and one that is not.
var fuzzPaths = []string{"/v1/event", "/v1/ingest/events", "/v1/events/batch", "/v1/ingest/events:batch", "/v1/ingest/batch", "/v1/ingest/batch/", "/v1/other"}

// startFuzzReceiver runs the receiver, built by its factory for the three
// signals as the collector builds it, on a loopback port.
func startFuzzReceiver(tb testing.TB) string {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = fmt.Sprintf("127.0.0.1:%d", testcollector.FreePort(tb))
	cfg.MaxRequestBodySize = 1 << 20
	f := NewFactory()
	set := receivertest.NewNopSettings(metadata.Type)
	var users []component.Component
	lr, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	if err == nil {
		users = append(users, lr)
		var tr, mr component.Component
		if tr, err = f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop()); err == nil {
			users = append(users, tr)
			mr, err = f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
			users = append(users, mr)
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range users {
		if err := u.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		if err := lr.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return "http://" + cfg.Endpoint
}

// FuzzHTTP: nothing a client sends to the running receiver gets a 5xx or
// breaks the connection (a panic in a handler closes it), and the receiver
// still answers afterwards. Bodies are sent plain and gzipped.
func FuzzHTTP(f *testing.F) {
	forEachSample(f, func(b []byte) {
		f.Add(uint8(0), false, b)
		f.Add(uint8(2), true, b)
	})
	f.Add(uint8(4), false, []byte(`{"events":[{}],"\u0065vents":[1]}`))
	f.Add(uint8(1), false, []byte(looseEvent(func(_, app, _, ev map[string]any) { app["app_id"] = 5; ev["at"] = "9999-12-31" })))
	base := startFuzzReceiver(f)
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, path uint8, gzipped bool, body []byte) {
		req, err := http.NewRequest(http.MethodPost, base+fuzzPaths[int(path)%len(fuzzPaths)], bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if gzipped {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			req.Body = io.NopCloser(&buf)
			req.ContentLength = int64(buf.Len())
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("no answer (a panic closes the connection): %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge, http.StatusNotFound:
		default:
			t.Fatalf("answered %d", resp.StatusCode)
		}
		health, err := client.Get(base + "/v1/health")
		if err != nil {
			t.Fatalf("no health answer after the request: %v", err)
		}
		_ = health.Body.Close()
		if health.StatusCode != http.StatusOK {
			t.Fatalf("health %d after the request", health.StatusCode)
		}
	})
}
