// Package zabbixtest runs a private, real Zabbix 6.0 (server, database and
// JSON-RPC API) on loopback for a test, with the scripts in
// exporter/zabbixexporter/testdata/zabbix, and talks to its API: import the
// wafermonitor templates, create hosts, read items, history, triggers and
// problems.
//
// It needs the Debian packages that .ci/setup.d/50-zabbix.sh installs;
// without them a test fails and says so. With ZABBIX_E2E_KEEP=1 a failed
// test leaves its Zabbix running and logs how to reach and stop it.
package zabbixtest // import "github.com/wafermonitor/wafermonitor/internal/zabbixtest"

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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

// Missing names a file of the Zabbix packages that is not installed, or is
// empty when all are there.
func Missing() string {
	for _, p := range []string{"/usr/sbin/zabbix_server", "/usr/share/zabbix/api_jsonrpc.php", "/usr/share/zabbix-server-pgsql/schema.sql.gz", "/usr/bin/php"} {
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
	return ""
}

// Start runs Zabbix until the test ends. prepare functions run on its
// directory before it starts (e.g. WithTLS).
func Start(t testing.TB, prepare ...func(testing.TB, string)) *Server {
	t.Helper()
	if p := Missing(); p != "" {
		t.Fatalf("Zabbix 6.0 is not installed (%s is missing): run .ci/setup.d/50-zabbix.sh as root, which installs zabbix-server-pgsql, zabbix-frontend-php, php8.2-cli, php8.2-cgi, php8.2-pgsql and postgresql", p)
	}
	// Not t.TempDir: zabbix_server's control socket path must stay short.
	dir, err := os.MkdirTemp("", "zbx")
	if err != nil {
		t.Fatal(err)
	}
	pg, trapper, api := testcollector.FreePort(t), trapperPort(t), testcollector.FreePort(t)
	s := &Server{t: t, dir: dir, Trapper: fmt.Sprintf("127.0.0.1:%d", trapper), api: fmt.Sprintf("http://127.0.0.1:%d/api_jsonrpc.php", api)}
	t.Cleanup(func() {
		if os.Getenv("ZABBIX_E2E_KEEP") != "" && t.Failed() {
			t.Logf("ZABBIX_E2E_KEEP: Zabbix left running: API %s, trapper %s; stop it with exporter/zabbixexporter/testdata/zabbix/stop.sh %s", s.api, s.Trapper, dir)
			return
		}
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
	start := time.Now()
	s.Script("start.sh", strconv.Itoa(pg), strconv.Itoa(trapper), strconv.Itoa(api))
	t.Logf("Zabbix started in %s", time.Since(start).Round(time.Millisecond))
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

// Log is the server's log so far.
func (s *Server) Log() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "zabbix_server.log")) //nolint:gosec // the harness's own directory
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}
