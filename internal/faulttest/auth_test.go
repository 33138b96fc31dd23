package faulttest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// documentedAuthExample is the YAML block of docs/security.md that puts an
// authenticator on the receivers, as users copy it.
func documentedAuthExample(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
		if block := string(m[1]); strings.Contains(block, "authenticator:") && strings.Contains(block, "otlp:") {
			return block
		}
	}
	t.Fatal("docs/security.md: no YAML example with an authenticator on the otlp receiver")
	return ""
}

// otlpWaferEvent is one wafer event as an OTLP log record, what an SDK
// sends.
func otlpWaferEvent(key string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(semconv.AttrServiceName, "auth-test")
	rl.Resource().Attributes().PutStr(semconv.AttrSiteID, "fab1")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.Attributes().PutStr(semconv.AttrEntityType, semconv.EntityTypeJob)
	lr.Attributes().PutStr(semconv.AttrEntityID, "00000000-0000-4000-8000-0000000000a1")
	lr.Attributes().PutStr(semconv.AttrEventKind, semconv.KindProgress)
	lr.Attributes().PutStr(semconv.AttrIdempotencyKey, key)
	return ld
}

// eventRowKeys are the idempotency keys of the rows in the CSV event files
// in dir (the open ones: nothing is closed during the test).
func eventRowKeys(t *testing.T, dir string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "wafer_events_*.csv"))
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // the test's own directory
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(records) == 0 {
			continue // a row being written; read again at the next poll
		}
		col := -1
		for i, name := range records[0] {
			if name == "idempotency_key" {
				col = i
			}
		}
		for _, r := range records[1:] {
			if col >= 0 && col < len(r) {
				keys[r[col]] = true
			}
		}
	}
	return keys
}

// TestDocumentedAuthOnEveryReceiver runs the authentication example of
// docs/security.md as it is, on top of otelcol-config.yaml, its listeners
// moved from 0.0.0.0 to free loopback ports: the v1 receiver, OTLP/HTTP
// and OTLP/gRPC each refuse a wafer event without the token or with a
// wrong one, and take it with the token; only the events sent with the
// token are in the CSV event file.
func TestDocumentedAuthOnEveryReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	const token = "tok-Rk3v-every-receiver"
	example := documentedAuthExample(t)
	ports := map[string]int{}
	example = regexp.MustCompile(`0\.0\.0\.0:(\d+)`).ReplaceAllStringFunc(example, func(addr string) string {
		ports[addr] = testcollector.FreePort(t)
		return "127.0.0.1:" + strconv.Itoa(ports[addr])
	})
	v1, grpcAddr, httpAddr := ports["0.0.0.0:17000"], ports["0.0.0.0:4317"], ports["0.0.0.0:4318"]
	if v1 == 0 || grpcAddr == 0 || httpAddr == 0 {
		t.Fatalf("the example does not listen on 0.0.0.0:17000, :4317 and :4318: %v", ports)
	}
	dataDir, runDir := t.TempDir(), t.TempDir()
	defaultConfig := filepath.Join(runDir, "otelcol-config.yaml")
	config := testcollector.DefaultConfig(t)
	if err := os.WriteFile(defaultConfig, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env, envPorts := testcollector.DefaultConfigEnv(t, config, dataDir)
	testcollector.Start(t, example, testcollector.Options{
		Dir: runDir, ConfigFiles: []string{defaultConfig},
		Env:       append(env, "WAFERMONITOR_TOKEN="+token),
		HealthURL: fmt.Sprintf("http://127.0.0.1:%d/", envPorts["WAFERMONITOR_HEALTH_ENDPOINT"]),
	})

	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcAddr), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	grpcClient := plogotlp.NewGRPCClient(conn)

	// send posts one event with the Authorization header (none when empty)
	// and returns the answer: an HTTP status, or the gRPC code.
	type receiver struct {
		name string
		send func(key, authorization string) string
	}
	receivers := []receiver{
		{"v1", func(key, authorization string) string {
			body := fmt.Sprintf(`{"idempotency_key":%q,"site_id":"fab1","app":{"name":"auth-test","version":"1"},`+
				`"entity":{"type":"job","id":"00000000-0000-4000-8000-0000000000a1"},"event":{"kind":"progress","at":%q}}`,
				key, time.Now().UTC().Format(time.RFC3339Nano))
			return httpAnswer(t, fmt.Sprintf("http://127.0.0.1:%d/v1/event", v1), "application/json", []byte(body), authorization)
		}},
		{"otlp/http", func(key, authorization string) string {
			body, err := plogotlp.NewExportRequestFromLogs(otlpWaferEvent(key)).MarshalProto()
			if err != nil {
				t.Fatal(err)
			}
			return httpAnswer(t, fmt.Sprintf("http://127.0.0.1:%d/v1/logs", httpAddr), "application/x-protobuf", body, authorization)
		}},
		{"otlp/grpc", func(key, authorization string) string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if authorization != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
			}
			_, err := grpcClient.Export(ctx, plogotlp.NewExportRequestFromLogs(otlpWaferEvent(key)))
			return status.Code(err).String()
		}},
	}
	refused := map[string]string{"v1": "401", "otlp/http": "401", "otlp/grpc": codes.Unauthenticated.String()}
	accepted := map[string]string{"v1": "200", "otlp/http": "200", "otlp/grpc": codes.OK.String()}
	var sentWithToken, sentWithout []string
	for _, r := range receivers {
		for _, tc := range []struct{ name, authorization, want string }{
			{"no token", "", refused[r.name]},
			{"wrong token", "Bearer " + token + "x", refused[r.name]},
			{"basic credentials", "Basic " + token, refused[r.name]},
			{"the token", "Bearer " + token, accepted[r.name]},
		} {
			key := fmt.Sprintf("auth-%s-%s-%d", strings.ReplaceAll(r.name, "/", "-"), strings.ReplaceAll(tc.name, " ", "-"), time.Now().UnixNano())
			if got := r.send(key, tc.authorization); got != tc.want {
				t.Errorf("%s, %s: answer %s, want %s", r.name, tc.name, got, tc.want)
			}
			if tc.want == accepted[r.name] {
				sentWithToken = append(sentWithToken, key)
			} else {
				sentWithout = append(sentWithout, key)
			}
		}
	}
	if got := httpAnswer(t, fmt.Sprintf("http://127.0.0.1:%d/v1/health", v1), "", nil, ""); got != "200" {
		t.Errorf("GET /v1/health without a token: %s, want 200", got)
	}

	testcollector.WaitFor(t, 30*time.Second, "the rows of the events sent with the token", func() bool {
		keys := eventRowKeys(t, dataDir)
		for _, k := range sentWithToken {
			if !keys[k] {
				return false
			}
		}
		return true
	})
	keys := eventRowKeys(t, dataDir)
	for _, k := range sentWithout {
		if keys[k] {
			t.Errorf("event %s, sent without the token, is in the CSV event file", k)
		}
	}
	fmt.Printf("FAULTTEST %s: v1, OTLP/HTTP and OTLP/gRPC each refused 3 requests without the right token and took 1 with it; %d rows, none of a refused event\n",
		t.Name(), len(keys))
}

// httpAnswer posts body (GET when nil) with an Authorization header (none
// when empty) and returns the status code, or the error.
func httpAnswer(t *testing.T, url, contentType string, body []byte, authorization string) string {
	t.Helper()
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}
