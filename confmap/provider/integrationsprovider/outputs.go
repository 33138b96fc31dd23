package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Shared settings of the exporters, as every shipped configuration has
// them: the sending queue on disk (file_storage), batched after the queue's
// file, and retries that never give up.
const (
	storageExtension = "file_storage"
	queueItems       = "${env:WAFERMONITOR_QUEUE_ITEMS:-1000000}"
	batchTimeout     = "${env:WAFERMONITOR_BATCH_TIMEOUT:-1s}"
	dataDir          = "${env:WAFERMONITOR_DATA_DIR:-./data}"
)

// durableQueue is a sending queue in the file_storage extension, batched
// in minSize to maxSize items after its file.
func durableQueue(minSize, maxSize int) map[string]any {
	return map[string]any{
		"storage":    storageExtension,
		"sizer":      "items",
		"queue_size": queueItems,
		"batch": map[string]any{
			"flush_timeout": batchTimeout,
			"min_size":      minSize,
			"max_size":      maxSize,
		},
	}
}

func retryForever() map[string]any {
	return map[string]any{"max_elapsed_time": "0s"}
}

// deadLetter is the dead-letter file of a webhook exporter, in the data
// directory.
func deadLetter(id string) map[string]any {
	return map[string]any{"path": dataDir + "/dead-letter/" + strings.ReplaceAll(id, "/", "_") + ".jsonl"}
}

// Defaults of the old sidecar.
const (
	defaultLocalAPIBase    = "http://localhost:18000"
	defaultLocalAPITimeout = 5 * time.Second
	defaultWebhookTimeout  = 30 * time.Second
	defaultZabbixPort      = "10051"
	webhookBatch           = 100
)

func duration(d time.Duration) string { return d.String() }

// mapLocalAPI: the old Local API gets a webhook exporter in its own
// protocol (format local_api), batched.
func mapLocalAPI(t *translator, _ *entry, name string, f *fields) {
	base, ok := f.resolved("base_url")
	if !ok || strings.TrimSpace(base) == "" {
		if f.bad["base_url"] {
			return
		}
		base = defaultLocalAPIBase
		if v, ok := t.env("LOCAL_API_BASE"); ok && v != "" {
			base = v
		}
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.fail("base_url", "%q is not an http:// or https:// URL (the Local API's base URL, e.g. http://local-api:18000)", base)
		return
	}
	id := "webhook/" + name
	t.addExporter(id, map[string]any{
		"endpoint":         literal(strings.TrimSuffix(base, "/")),
		"format":           "local_api",
		"mode":             "batch",
		"max_batch_events": webhookBatch,
		"timeout":          duration(f.seconds("timeout", defaultLocalAPITimeout)),
		"sending_queue":    durableQueue(webhookBatch, webhookBatch),
		"retry_on_failure": retryForever(),
		"dead_letter":      deadLetter(id),
	})
	t.attach(id, signalLogs)
}

// mapWebhook: each event POSTed (or PUT) as the v1 JSON event.
func mapWebhook(t *translator, _ *entry, name string, f *fields) {
	endpoint := f.httpURL("webhook_url", "the URL events are sent to")
	method := strings.ToUpper(f.choice("method", "post", "post", "put", "patch"))
	headers := f.textMap("headers")
	timeout := f.seconds("timeout", defaultWebhookTimeout)
	if endpoint == "" {
		return
	}
	id := "webhook/" + name
	cfg := map[string]any{
		"endpoint":         literal(endpoint),
		"format":           "v1",
		"mode":             "single",
		"method":           method,
		"timeout":          duration(timeout),
		"sending_queue":    durableQueue(webhookBatch, webhookBatch),
		"retry_on_failure": retryForever(),
		"dead_letter":      deadLetter(id),
	}
	if len(headers) > 0 {
		cfg["headers"] = headers
	}
	t.addExporter(id, cfg)
	t.attach(id, signalLogs)
}

// filePattern is the date part of a file name per rotation.
var filePattern = map[string]string{"daily": "%Y%m%d", "hourly": "%Y%m%d%H"}

// mapCSV: CSV files per period in output_dir, events and finished entities.
func mapCSV(t *translator, e *entry, name string, f *fields) {
	if !f.boolean("include_headers", true) {
		t.note(e, "include_headers", "false: every file starts with a header row all the same (the csv exporter always writes one)")
	}
	mapFiles(t, name, f, "csv", "csv", "")
}

// mapJSON: JSON Lines files per period in output_dir.
func mapJSON(t *translator, e *entry, name string, f *fields) {
	compression := f.choice("compression", "none", "none", "gzip")
	if f.boolean("pretty_print", false) {
		t.note(e, "pretty_print", "true: each object is written on one line all the same (JSON Lines, one event per line)")
	}
	if compression == "none" {
		compression = ""
	}
	mapFiles(t, name, f, "jsonl", "jsonl", compression)
}

func mapFiles(t *translator, name string, f *fields, format, ext, compression string) {
	dir, _ := f.resolved("output_dir")
	dir = strings.TrimSuffix(f.required("output_dir", strings.TrimSpace(dir), "the directory the files are written to"), "/")
	pattern := filePattern[f.choice("rotation", "daily", "daily", "hourly")]
	if dir == "" {
		return
	}
	rotation := map[string]any{"max_megabytes": 100}
	if compression != "" {
		rotation["compression"] = compression
	}
	id := "csv/" + name
	t.addExporter(id, map[string]any{
		"format":           format,
		"events":           map[string]any{"path": literal(dir) + "/wafer_events_" + pattern + "." + ext},
		"entities":         map[string]any{"path": literal(dir) + "/wafer_entities_" + pattern + "." + ext},
		"rotation":         rotation,
		"sending_queue":    durableQueue(1000, 10000),
		"retry_on_failure": retryForever(),
	})
	t.attach(id, signalLogs, signalTraces)
}

// zabbixHost is what Zabbix allows in a host name.
var zabbixHost = regexp.MustCompile(`^[0-9A-Za-z._ -]+$`)

// mapZabbix: values for one fixed Zabbix host, with the old sidecar's item
// keys (legacy mode) besides the exporter's own.
func mapZabbix(t *translator, e *entry, name string, f *fields) {
	server, _ := f.resolved("zabbix_server")
	server = f.required("zabbix_server", strings.TrimSpace(server), "the Zabbix server's trapper address, e.g. http://zabbix:10051")
	host, _ := f.resolved("host")
	host = f.required("host", strings.TrimSpace(host), "the Zabbix host name the values are sent to")
	if _, ok := f.raw("auth_token"); ok {
		t.note(e, "auth_token", "not used: the Zabbix trapper protocol has no token; restrict the trapper items' allowed hosts or use TLS certificates (tls:)")
	}
	if host != "" && !zabbixHost.MatchString(host) {
		f.fail("host", "%q is not a Zabbix host name (letters, digits, spaces, '.', '_' and '-')", host)
		host = ""
	}
	endpoint := ""
	if server != "" {
		var err error
		if endpoint, err = trapperAddress(server); err != nil {
			f.fail("zabbix_server", "%v", err)
		}
	}
	if endpoint == "" || host == "" {
		return
	}
	id := "zabbix/" + name
	t.addExporter(id, map[string]any{
		"endpoints":        []any{literal(endpoint)},
		"host":             host,
		"legacy":           map[string]any{"enabled": true, "host": host},
		"sending_queue":    durableQueue(1000, 10000),
		"retry_on_failure": retryForever(),
	})
	t.attach(id, signalLogs)
}

// trapperAddress makes host:port of the old zabbix_server, which may be a
// URL (its scheme is meaningless), host:port or a host alone (port 10051).
func trapperAddress(server string) (string, error) {
	hostPort := server
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%q is neither host:port nor a URL with a host", server)
		}
		hostPort = u.Host
	}
	hostPort = strings.TrimSuffix(hostPort, "/")
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		host, port = strings.Trim(hostPort, "[]"), defaultZabbixPort
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("%q: port %q is not a port number", server, port)
	}
	if host == "" || strings.ContainsAny(host, "/ @") {
		return "", fmt.Errorf("%q has no host name", server)
	}
	return net.JoinHostPort(host, port), nil
}
