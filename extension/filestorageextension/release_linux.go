package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// dropMappedPages releases the pages of every read-only shared map of the
// file at path (bbolt's) in this process. The caller makes sure no map of
// it is replaced meanwhile (see release.go).
func dropMappedPages(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("no inode")
	}
	// The kernel names a map by the file's path with symbolic links
	// resolved (a data directory may be reached through one).
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	for _, m := range fileMaps(maps, real, st.Ino) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("madvise %#x-%#x: %w", m.start, m.end, errno)
		}
	}
	return nil
}

type addrRange struct{ start, end uintptr }

// fileMaps parses /proc/PID/maps ("start-end perms offset dev inode path")
// for the read-only shared maps of the file at path with inode ino.
func fileMaps(maps []byte, path string, ino uint64) []addrRange {
	var out []addrRange
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) != 6 || string(fields[1]) != "r--s" || string(fields[5]) != path {
			continue
		}
		if n, err := strconv.ParseUint(string(fields[4]), 10, 64); err != nil || n != ino {
			continue
		}
		lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, addrRange{start: uintptr(start), end: uintptr(end)})
	}
	return out
}
