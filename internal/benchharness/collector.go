package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// pipeline is one collector configuration under test.
type pipeline struct {
	name   string
	title  string
	config func(c *collector) string
}

// Both pipelines end in the same exporter: debug at basic verbosity, whose
// one info line per batch is below the collector's log level (warn), so the
// exporter costs a call and a level check and the collector's own work is
// what is measured. The batch processor is the one of the default
// configuration. The wafermonitor receiver admits 1024 requests at once: its
// default of 8 answers 503 to the 16 and 64 clients and to the open loop when
// the machine stalls, and the otlp receiver has no such limit. The hierarchy pipeline adds the jobhierarchy processor and a
// persistent sending queue, both in file_storage.
var pipelines = []pipeline{
	{name: "plain", title: "receiver → batch → debug", config: func(c *collector) string { return collectorConfig(c, false) }},
	{name: "hierarchy", title: "receiver → jobhierarchy → batch → debug with a file_storage queue", config: func(c *collector) string { return collectorConfig(c, true) }},
}

// baselinePipeline is the plain pipeline run by the -baseline-bin build.
var baselinePipeline = pipeline{name: "baseline", title: "receiver → batch → debug, baseline build", config: func(c *collector) string { return collectorConfig(c, false) }}

func collectorConfig(c *collector, hierarchy bool) string {
	storageExt, jobhierarchy, queue, extensions, processors := "", "", "", "[pprof]", "[batch]"
	if hierarchy {
		storageExt = fmt.Sprintf("\n  file_storage:\n    directory: %s\n    create_directory: true", filepath.Join(c.dir, "storage"))
		jobhierarchy = "\n  jobhierarchy:\n    storage: file_storage"
		queue = "\n    sending_queue:\n      storage: file_storage"
		extensions, processors = "[pprof, file_storage]", "[jobhierarchy, batch]"
	}
	return fmt.Sprintf(`
extensions:
  pprof:
    endpoint: 127.0.0.1:%[3]d%[4]s
receivers:
  wafermonitor:
    endpoint: 127.0.0.1:%[1]d
    max_batch_events: 1000
    deduplication:
      enabled: true
      max_keys: 100000
      window: 1h
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[2]d
processors:%[5]s
  batch:
exporters:
  debug:
    verbosity: basic%[6]s
service:
  extensions: %[7]s
  pipelines:
    logs:
      receivers: [wafermonitor, otlp]
      processors: %[8]s
      exporters: [debug]
    traces:
      receivers: [wafermonitor, otlp]
      processors: %[8]s
      exporters: [debug]
    metrics:
      receivers: [wafermonitor, otlp]
      processors: [batch]
      exporters: [debug]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
`, c.v1Port, c.otlpPort, c.pprofPort, storageExt, jobhierarchy, queue, extensions, processors)
}

// collector is one running otelcol-wafermonitor process.
type collector struct {
	pipeline                    pipeline
	dir                         string
	v1Port, otlpPort, pprofPort int
	cmd                         *exec.Cmd
	stderr                      bytes.Buffer
	exited                      chan struct{}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

func startCollector(ctx context.Context, bin, workDir string, p pipeline) (*collector, error) {
	c := &collector{pipeline: p, dir: filepath.Join(workDir, p.name), exited: make(chan struct{})}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, err
	}
	for _, port := range []*int{&c.v1Port, &c.otlpPort, &c.pprofPort} {
		var err error
		if *port, err = freePort(); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(c.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(p.config(c)), 0o600); err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, "--config", cfgPath)
	c.cmd.Stdout = &c.stderr
	c.cmd.Stderr = &c.stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("collector %s exited at start: %s", p.name, c.stderr.String())
		default:
		}
		if ok := c.healthy(); ok {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("collector %s not healthy within 60s: %s", p.name, c.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
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

// cpu is the process's user + system CPU time so far.
func (c *collector) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pid()))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// status reads a kB field (VmRSS, VmHWM) of /proc/PID/status, in bytes.
func (c *collector) status(field string) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, c.pid())
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0), so that
// the peak of one cell is not the peak of an earlier one.
func (c *collector) resetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.pid()), []byte("5"), 0o200)
}

// cpuProfile saves a CPU profile of the collector taken over d.
func (c *collector) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	u := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", c.pprofPort, max(1, int(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
