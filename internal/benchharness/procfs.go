package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

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

// notePeak folds the current VmHWM into the run's peak.
func (c *collector) notePeak() uint64 {
	hwm, err := c.status("VmHWM")
	if err == nil {
		c.peakRSS = max(c.peakRSS, hwm)
	}
	return hwm
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0), so that
// the peak of one cell is not the peak of an earlier one. The peak so far
// is kept for the run's.
func (c *collector) resetPeakRSS() error {
	c.notePeak()
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.pid()), []byte("5"), 0o200)
}

// ioCounters are fields of /proc/PID/io.
type ioCounters struct {
	// writeBytes is what the process caused to be written to storage,
	// counted when a page of the page cache is first dirtied (a page written
	// again before the kernel wrote it back is not counted again).
	writeBytes int64
	// wchar is what the process passed to write calls, sockets included.
	wchar int64
}

func (a ioCounters) sub(b ioCounters) ioCounters {
	return ioCounters{writeBytes: a.writeBytes - b.writeBytes, wchar: a.wchar - b.wchar}
}

func (c *collector) io() (ioCounters, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", c.pid()))
	if err != nil {
		return ioCounters{}, err
	}
	var out ioCounters
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "write_bytes":
			out.writeBytes = n
		case "wchar":
			out.wchar = n
		}
	}
	return out, nil
}

// csvFiles maps the inode of every uncompressed file the exporters write in
// the data directory (file_storage's directories aside) to its size. Keyed by
// inode, a file renamed by rotation is the same file; compressed copies of
// rotated files are left out, their source was counted as it was written.
func (c *collector) csvFiles() map[uint64]int64 {
	files := map[uint64]int64{}
	if c.dataDir == "" {
		return files
	}
	_ = filepath.WalkDir(c.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // a file rotated away while walking
		}
		if d.IsDir() {
			if c.storageDirs[filepath.Clean(path)] {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".gz") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil //nolint:nilerr // rotated away
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			files[st.Ino] = info.Size()
		}
		return nil
	})
	return files
}

// growth is what was appended to the files between two csvFiles.
func growth(before, after map[uint64]int64) int64 {
	var n int64
	for ino, size := range after {
		n += max(0, size-before[ino])
	}
	return n
}
