package jobs

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/wafermonitor/wafermonitor/sdk/ids"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// UUID is the 16 bytes of a job's or subjob's UUID.
type UUID = ids.UUID

// ParseUUID parses the canonical form (8-4-4-4-12 hexadecimal digits, either
// case), optionally in braces or with a urn:uuid: prefix, and the 32 digits
// without hyphens.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	orig := s
	if len(s) == 36+9 && s[:9] == "urn:uuid:" {
		s = s[9:]
	} else if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, fmt.Errorf("jobs: %q is not a UUID", orig)
		}
		s = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
	default:
		return u, fmt.Errorf("jobs: %q is not a UUID", orig)
	}
	for i := range u {
		h, ok1 := unhex(s[2*i])
		l, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return UUID{}, fmt.Errorf("jobs: %q is not a UUID", orig)
		}
		u[i] = h<<4 | l
	}
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

// formatUUID returns the canonical lower-case form.
func formatUUID(u UUID) string {
	var b [36]byte
	return string(appendUUID(b[:0], u))
}

// appendUUID appends the canonical lower-case form to b.
func appendUUID(b []byte, u UUID) []byte {
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return b
}

// newUUID returns a random version 4 UUID. math/rand/v2's global source is
// ChaCha8 seeded by the runtime from the operating system: unpredictable
// enough for identifiers, and without a system call per ID. With xray the
// first four bytes are the current Unix time, as X-Ray wants of a trace ID.
func newUUID(xray bool, now time.Time) UUID {
	var u UUID
	binary.BigEndian.PutUint64(u[0:8], rand.Uint64())  //nolint:gosec // ChaCha8, see above
	binary.BigEndian.PutUint64(u[8:16], rand.Uint64()) //nolint:gosec // ChaCha8, see above
	if xray {
		binary.BigEndian.PutUint32(u[0:4], uint32(now.Unix())) //nolint:gosec // X-Ray's epoch field is 32 bits
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// appIDAttributes are the resource attributes of an app id as the
// wafermonitor receiver writes them for the same id sent over v1: a UUID in
// canonical lower-case form; any other id (also the nil UUID) as the
// name-based UUID of its text (ids.FromName), with the text kept in
// wafer.app.id.original. None for a blank id.
func appIDAttributes(appID string) []attribute.KeyValue {
	if strings.TrimSpace(appID) == "" {
		return nil
	}
	if u, err := ParseUUID(appID); err == nil && u != (UUID{}) {
		return []attribute.KeyValue{attribute.String(semconv.AttrAppID, formatUUID(u))}
	}
	return []attribute.KeyValue{
		attribute.String(semconv.AttrAppID, formatUUID(ids.FromName(appID))),
		attribute.String(semconv.AttrAppIDOriginal, appID),
	}
}
