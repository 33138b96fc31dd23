package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/freeport"
)

// collector is one running otelcol-wafermonitor process.
type collector struct {
	pipeline pipeline
	dir      string
	// dataDir is the shipped configuration's data directory (CSV files and
	// file_storage); empty for a generated configuration.
	dataDir string
	// storageDirs are the storage extensions' directories.
	storageDirs                 map[string]bool
	v1Port, otlpPort, pprofPort int
	// telemetryPort serves the collector's own metrics; 0 when off.
	telemetryPort int
	// settle is how long a cell's measurement goes on after its load, so
	// that the work the collector defers (batch and queue flushes, state
	// checkpoints) is counted in the cell that caused it.
	settle time.Duration
	// memoryLimitMiB is memory_limiter's limit_mib; 0 when it has none.
	memoryLimitMiB float64
	cmd            *exec.Cmd
	output         *tailBuffer
	exited         chan struct{}
	// peakRSS is the largest VmHWM read over the run, bytes.
	peakRSS uint64
}

// startAttempts is how often a collector is started, on new ports, when
// another process took one of its ports between freeport.Get and its start.
const startAttempts = 3

// startCollector runs bin with p's configuration in a directory of its own
// under workDir and waits until both receivers answer.
func startCollector(ctx context.Context, bin, workDir string, p pipeline) (*collector, error) {
	for attempt := 1; ; attempt++ {
		c, err := startCollectorOnce(ctx, bin, workDir, p)
		if err == nil || attempt == startAttempts || !errors.Is(err, errPortTaken) {
			return c, err
		}
		log.Printf("collector %s: a port was taken meanwhile; starting it again on new ports", p.name)
		if err := os.RemoveAll(filepath.Join(workDir, p.name)); err != nil {
			return nil, err
		}
	}
}

// errPortTaken: the collector exited at start because a port it was given
// was in use.
var errPortTaken = errors.New("a port was in use")

func startCollectorOnce(ctx context.Context, bin, workDir string, p pipeline) (*collector, error) {
	c := &collector{pipeline: p, dir: filepath.Join(workDir, p.name), exited: make(chan struct{}), output: &tailBuffer{max: 64 << 10}}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if c.pprofPort, err = freeport.Get(); err != nil {
		return nil, err
	}
	var args, env []string
	if p.shipped != nil {
		args, env, err = c.shippedSetup(p.shipped)
	} else {
		args, env, err = c.generatedSetup()
	}
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Dir = c.dir
	c.cmd.Env = env
	c.cmd.Stdout = c.output
	c.cmd.Stderr = c.output
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			out := c.output.String()
			if strings.Contains(out, "address already in use") {
				return nil, fmt.Errorf("collector %s exited at start: %w: %s", p.name, errPortTaken, out)
			}
			return nil, fmt.Errorf("collector %s exited at start: %s", p.name, out)
		default:
		}
		if c.healthy() {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("collector %s not healthy within 60s: %s", p.name, c.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shippedSetup runs the shipped configuration with its addresses and data
// directory moved, and the bench overlay (pprof) as a second file.
func (c *collector) shippedSetup(s *shippedConfig) (args, env []string, err error) {
	c.dataDir = filepath.Join(c.dir, "data")
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return nil, nil, err
	}
	moved, err := s.moveEnv(c.dataDir, freeport.Get)
	if err != nil {
		return nil, nil, err
	}
	c.v1Port, c.otlpPort, c.telemetryPort = moved.v1Port, moved.otlpPort, moved.telemetryPort
	cfg, err := s.resolved(moved.vars)
	if err != nil {
		return nil, nil, err
	}
	c.memoryLimitMiB = memoryLimitMiB(cfg)
	c.storageDirs = storageDirs(cfg)
	c.settle = deferredWork(cfg) + settleMargin
	overlay := filepath.Join(c.dir, "bench-pprof.yaml")
	if err := os.WriteFile(overlay, []byte(benchOverlay(serviceExtensions(cfg), c.pprofPort)), 0o600); err != nil {
		return nil, nil, err
	}
	args = []string{"--config", s.path, "--config", overlay}
	if c.pipeline.change != "" {
		change := filepath.Join(c.dir, "bench-change.yaml")
		if err := os.WriteFile(change, []byte(c.pipeline.change), 0o600); err != nil {
			return nil, nil, err
		}
		args = append(args, "--config", change)
	}
	return args, collectorEnv(s.refs, moved.vars), nil
}

// generatedSetup writes the plain pipeline's configuration.
func (c *collector) generatedSetup() (args, env []string, err error) {
	for _, port := range []*int{&c.v1Port, &c.otlpPort} {
		if *port, err = freeport.Get(); err != nil {
			return nil, nil, err
		}
	}
	c.settle = plainBatchTimeout + settleMargin
	cfgPath := filepath.Join(c.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(plainConfig(c)), 0o600); err != nil {
		return nil, nil, err
	}
	return []string{"--config", cfgPath}, collectorEnv(nil, nil), nil
}

func (c *collector) healthy() bool {
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/v1/health", c.v1Port),
		fmt.Sprintf("http://127.0.0.1:%d/v1/logs", c.otlpPort), // 405 to GET once listening
	} {
		resp, err := http.Get(u) //nolint:gosec // loopback URL of our own process
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
	}
	return true
}

func (c *collector) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *collector) pid() int { return c.cmd.Process.Pid }

// tailBuffer keeps the last max bytes written to it: the collector's log,
// for an error message, without holding a whole run's log lines.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
