package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// maxValueBytes bounds every string of an event that identifies or labels
// something (ids, the idempotency key, site, app name and version, status,
// business and sub key, the originals kept): these key the deduplication
// window, the metric series and the jobhierarchy processor's state, so a
// client must not make one of them a megabyte. A longer value is cut, never
// refused: the old clients drop an event the receiver refuses.
const maxValueBytes = 256

// bound cuts s to maxValueBytes, at a character boundary, and says so at
// the end with the length the client sent: "…[1048576 bytes]".
func bound(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	marker := "…[" + strconv.Itoa(len(s)) + " bytes]"
	return prefix(s, maxValueBytes-len(marker)) + marker
}

// boundKey cuts an idempotency key like bound, and keeps two different long
// keys different: the marker carries the SHA-256 of the whole key.
func boundKey(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	marker := "…[" + strconv.Itoa(len(s)) + " bytes sha256:" + hex.EncodeToString(sum[:]) + "]"
	return prefix(s, maxValueBytes-len(marker)) + marker
}

// prefix returns at most n bytes of s, not cutting a UTF-8 sequence.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// truncate cuts s to n bytes for a message, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return prefix(s, n) + "…"
}
