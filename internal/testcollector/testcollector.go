// Package testcollector runs the real otelcol-wafermonitor binary for
// end-to-end tests.
//
// The binary is the one named by OTELCOL_WAFERMONITOR_BIN (`make test` builds
// it once and sets it). Without that variable the package builds it once per
// machine into the system temp directory, under a file lock, so that test
// packages running in parallel share one build.
package testcollector

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/freeport"
)

// EnvBinary names the environment variable that points at a built binary.
const EnvBinary = "OTELCOL_WAFERMONITOR_BIN"

// Binary returns the path of the collector binary, building it if needed.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", EnvBinary, p, err)
		}
		return p
	}
	buildOnce.Do(func() { builtPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building the collector (set %s to use a built one): %v", EnvBinary, buildErr)
	}
	return builtPath
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

func build() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	// One binary per checkout: tests of two checkouts (git worktrees) at
	// once must not run each other's build.
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "otelcol-wafermonitor-test-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	out := filepath.Join(dir, "otelcol-wafermonitor")
	// go build is incremental: an up-to-date binary costs a link at most.
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join(root, "cmd", "otelcol-wafermonitor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, msg)
	}
	return out, nil
}

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FreePort returns a loopback TCP port that was free a moment ago and that no
// earlier call in this process returned (freeport.Get).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Collector is a running collector process.
type Collector struct {
	t      testing.TB
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	// Dir is a fresh directory for the config and anything the test's config writes.
	Dir string
}

// Options for Start.
type Options struct {
	// Env is added to the process environment.
	Env []string
	// HealthURL is polled until it answers 200; empty to skip waiting.
	HealthURL string
	// Dir, when set, is used instead of a fresh temporary directory (for restarts).
	Dir string
	// ConfigFiles are loaded before the config given to Start, in order, each
	// with its own --config, as a user combines a shipped configuration with
	// examples; later files override and replace lists of earlier ones.
	ConfigFiles []string
	// Args are added to the command line (e.g. --feature-gates=...).
	Args []string
}

// Start writes config to a file and runs the collector on it. The process is
// stopped at the end of the test; its output is logged when the test fails.
func Start(t testing.TB, config string, opts Options) *Collector {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Collector{t: t, output: &syncBuffer{}, done: make(chan struct{}), Dir: dir}
	var args []string
	for _, f := range opts.ConfigFiles {
		args = append(args, "--config", f)
	}
	args = append(args, opts.Args...)
	c.cmd = exec.Command(Binary(t), append(args, "--config", cfgPath)...)
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), opts.Env...)
	c.cmd.Stdout = c.output
	c.cmd.Stderr = c.output
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("collector output:\n%s", c.output.String())
		}
	})
	if opts.HealthURL != "" {
		c.WaitHealthy(opts.HealthURL, 60*time.Second)
	}
	return c
}

// WaitHealthy polls url until it answers 200 or the process exits.
func (c *Collector) WaitHealthy(url string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			c.t.Fatalf("collector exited before it was healthy:\n%s", c.output.String())
		default:
		}
		resp, err := http.Get(url) //nolint:gosec // test URL on loopback
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("collector not healthy at %s after %s:\n%s", url, timeout, c.output.String())
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 30 s).
func (c *Collector) Stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Kill stops the process with SIGKILL, as a crash would.
func (c *Collector) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// PID returns the process id (for /proc/PID/status in tests).
func (c *Collector) PID() int { return c.cmd.Process.Pid }

// Output returns everything the process printed so far.
func (c *Collector) Output() string { return c.output.String() }

// Exited reports whether the process has exited.
func (c *Collector) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// WaitFor polls cond every 50 ms until it holds or timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ReadJSONLines reads a file of JSON lines; a missing file reads as none.
func ReadJSONLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(strings.TrimSpace(string(l))) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
