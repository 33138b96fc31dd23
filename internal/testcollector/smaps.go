package testcollector

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// MappedRSS is the resident memory of process pid's maps of the file at
// path (the Rss of its entries in /proc/PID/smaps), in bytes.
func MappedRSS(t testing.TB, pid int, path string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	total, in := 0, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && !strings.HasSuffix(fields[0], ":") {
			// A map's first line: start-end perms offset dev inode [path].
			in = len(fields) == 6 && fields[5] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	return total
}
