// Package zabbixtest runs a private, real Zabbix 6.0 (server, database and
// JSON-RPC API) on loopback for a test, with the scripts in
// exporter/zabbixexporter/testdata/zabbix, and talks to its API: import the
// wafermonitor templates, create hosts, read items and history.
//
// It needs the Debian packages that .ci/setup.d/50-zabbix.sh installs;
// without them a test fails and says so.
package zabbixtest // import "github.com/wafermonitor/wafermonitor/internal/zabbixtest"

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// Server is a running Zabbix.
type Server struct {
	t   testing.TB
	dir string
	// Trapper is the server's trapper address, host:port.
	Trapper string
	api     string
	auth    string
}

// Start runs Zabbix until the test ends. prepare functions run on its
// directory before it starts (e.g. to place TLS files).
func Start(t testing.TB, prepare ...func(testing.TB, string)) *Server {
	t.Helper()
	for _, p := range []string{"/usr/sbin/zabbix_server", "/usr/share/zabbix/api_jsonrpc.php", "/usr/share/zabbix-server-pgsql/schema.sql.gz", "/usr/bin/php"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("Zabbix 6.0 is not installed (%s is missing): run .ci/setup.d/50-zabbix.sh as root, which installs zabbix-server-pgsql, zabbix-frontend-php, php8.2-cli, php8.2-cgi, php8.2-pgsql and postgresql", p)
		}
	}
	// Not t.TempDir: zabbix_server's control socket path must stay short.
	dir, err := os.MkdirTemp("", "zbx")
	if err != nil {
		t.Fatal(err)
	}
	pg, trapper, api := testcollector.FreePort(t), trapperPort(t), testcollector.FreePort(t)
	s := &Server{t: t, dir: dir, Trapper: fmt.Sprintf("127.0.0.1:%d", trapper), api: fmt.Sprintf("http://127.0.0.1:%d/api_jsonrpc.php", api)}
	t.Cleanup(func() {
		s.Script("stop.sh")
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "zabbix_server.log")); err == nil { //nolint:gosec // the harness's own directory
				t.Logf("zabbix_server.log (last 4 kB):\n%s", b[max(0, len(b)-4096):])
			}
		}
		_ = os.RemoveAll(dir)
	})
	for _, p := range prepare {
		p(t, dir)
	}
	s.Script("start.sh", strconv.Itoa(pg), strconv.Itoa(trapper), strconv.Itoa(api))
	var token string
	s.Call("user.login", map[string]string{"username": "Admin", "password": "zabbix"}, &token)
	s.auth = token
	return s
}

// trapperPort finds a free loopback port that Zabbix accepts as ListenPort
// (1024-32767, below the usual ephemeral range).
func trapperPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000) //nolint:gosec // not a secret
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			_ = l.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-32000 for the Zabbix trapper")
	return 0
}

// repo is the repository's root directory.
func repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Script runs one of the harness scripts (start.sh, stop.sh) on the
// server's directory.
func (s *Server) Script(name string, args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := filepath.Join(repo(), "exporter", "zabbixexporter", "testdata", "zabbix", name)
	cmd := exec.CommandContext(ctx, script, append([]string{s.dir}, args...)...) //nolint:gosec // test scripts
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The servers it starts must not keep the test waiting for its output.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
	}
}

// Call runs one method of the JSON-RPC API.
func (s *Server) Call(method string, params, result any) {
	s.t.Helper()
	req := map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
	if s.auth != "" {
		req["auth"] = s.auth
	}
	body, err := json.Marshal(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.Post(s.api, "application/json-rpc", bytes.NewReader(body)) //nolint:gosec,noctx // loopback test server
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	if out.Error != nil {
		s.t.Fatalf("%s: %s %s", method, out.Error.Message, out.Error.Data)
	}
	if result != nil {
		if err := json.Unmarshal(out.Result, result); err != nil {
			s.t.Fatal(err)
		}
	}
}

// ImportTemplates imports the zabbix exporter's templates.
func (s *Server) ImportTemplates() {
	s.t.Helper()
	src, err := os.ReadFile(filepath.Join(repo(), "exporter", "zabbixexporter", "template", "wafermonitor_zabbix6.yaml"))
	if err != nil {
		s.t.Fatal(err)
	}
	create := map[string]bool{"createMissing": true, "updateExisting": true}
	var ok bool
	s.Call("configuration.import", map[string]any{
		"format": "yaml",
		"source": string(src),
		"rules": map[string]any{
			"groups": map[string]bool{"createMissing": true}, "templates": create, "items": create,
			"discoveryRules": create, "triggers": create,
		},
	}, &ok)
	if !ok {
		s.t.Fatal("configuration.import did not succeed")
	}
}

// CreateHost creates a host linked to every wafermonitor template and
// returns its id.
func (s *Server) CreateHost(name string) string {
	s.t.Helper()
	var templates []struct {
		ID string `json:"templateid"`
	}
	s.Call("template.get", map[string]any{"output": []string{"templateid"}, "search": map[string]string{"host": "wafermonitor"}}, &templates)
	var groups []struct {
		ID string `json:"groupid"`
	}
	s.Call("hostgroup.get", map[string]any{"output": []string{"groupid"}, "filter": map[string]any{"name": []string{"Linux servers"}}}, &groups)
	if len(templates) == 0 || len(groups) == 0 {
		s.t.Fatalf("templates %v, host groups %v: import the templates first", templates, groups)
	}
	var links []map[string]string
	for _, tpl := range templates {
		links = append(links, map[string]string{"templateid": tpl.ID})
	}
	var created struct {
		IDs []string `json:"hostids"`
	}
	s.Call("host.create", map[string]any{"host": name, "groups": []map[string]string{{"groupid": groups[0].ID}}, "templates": links}, &created)
	return created.IDs[0]
}

// Item is an item of a host.
type Item struct {
	ID        string `json:"itemid"`
	Key       string `json:"key_"`
	ValueType string `json:"value_type"`
	State     string `json:"state"`
	Error     string `json:"error"`
}

// Item returns the item of a host with the key, if there is one.
func (s *Server) Item(hostID, key string) (Item, bool) {
	s.t.Helper()
	var items []Item
	s.Call("item.get", map[string]any{"hostids": hostID, "output": []string{"itemid", "key_", "value_type", "state", "error"}, "filter": map[string]any{"key_": key}}, &items)
	if len(items) == 0 {
		return Item{}, false
	}
	return items[0], true
}

// Value is one value of an item's history.
type Value struct {
	Clock string `json:"clock"`
	NS    string `json:"ns"`
	Value string `json:"value"`
}

// History returns an item's values, oldest first.
func (s *Server) History(it Item) []Value {
	s.t.Helper()
	var values []Value
	s.Call("history.get", map[string]any{"itemids": it.ID, "history": it.ValueType, "output": "extend", "sortfield": "clock", "sortorder": "ASC"}, &values)
	return values
}

// WaitAccepts sends a value for host and key to the trapper until the
// server processes it: the server takes values for a new host only after
// its next configuration sync. Use an item the test does not look at.
func (s *Server) WaitAccepts(host, key string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		info, err := s.send(host, key, "0")
		if err == nil && strings.HasPrefix(info, "processed: 1;") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("Zabbix did not take a value for %s %s within %s: %q %v", host, key, timeout, info, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// send makes one sender request (the trapper protocol: "ZBXD", flags 1,
// the payload's length as 8 bytes little-endian, the JSON) and returns the
// answer's info.
func (s *Server) send(host, key, value string) (string, error) {
	payload, err := json.Marshal(map[string]any{"request": "sender data", "data": []map[string]string{{"host": host, "key": key, "value": value}}})
	if err != nil {
		return "", err
	}
	conn, err := net.DialTimeout("tcp", s.Trapper, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	header := make([]byte, 13)
	copy(header, "ZBXD\x01")
	binary.LittleEndian.PutUint64(header[5:], uint64(len(payload)))
	if _, err := conn.Write(append(header, payload...)); err != nil {
		return "", err
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	if len(answer) < 13 {
		return "", fmt.Errorf("short answer %q", answer)
	}
	var resp struct {
		Info string `json:"info"`
	}
	if err := json.Unmarshal(answer[13:], &resp); err != nil {
		return "", err
	}
	return resp.Info, nil
}
