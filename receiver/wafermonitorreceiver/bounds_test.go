package wafermonitorreceiver

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBound(t *testing.T) {
	assert.Equal(t, "short", bound("short"))
	exact := strings.Repeat("x", maxValueBytes)
	assert.Equal(t, exact, bound(exact))

	long := strings.Repeat("é", 1<<19) // 1 MiB, two bytes a character
	b := bound(long)
	assert.LessOrEqual(t, len(b), maxValueBytes)
	assert.True(t, utf8.ValidString(b), "not cut inside a character")
	assert.True(t, strings.HasSuffix(b, "…[1048576 bytes]"), b)

	k1, k2 := boundKey(strings.Repeat("k", 1<<20)+"1"), boundKey(strings.Repeat("k", 1<<20)+"2")
	assert.LessOrEqual(t, len(k1), maxValueBytes)
	assert.NotEqual(t, k1, k2, "two long keys stay two keys")
	assert.Equal(t, k1, boundKey(strings.Repeat("k", 1<<20)+"1"), "the same key, the same bound key")
	assert.Contains(t, k1, "…[1048577 bytes sha256:")
}

// TestEventStringsBounded: every string of an event that keys or labels
// something is cut; none is refused.
func TestEventStringsBounded(t *testing.T) {
	huge := strings.Repeat("z", 1<<20)
	body := looseEvent(func(m, app, ent, ev map[string]any) {
		m["idempotency_key"], m["site_id"] = huge, huge
		app["app_id"], app["name"], app["version"] = huge, huge, huge
		ent["type"], ent["id"], ent["parent_id"], ent["business_key"], ent["sub_key"] = huge, huge, huge+"p", huge, huge
		ev["kind"], ev["at"], ev["status"] = huge, huge, huge
	})
	e := mustDecode(t, body)
	for name, s := range map[string]string{
		"idempotency_key": e.IdempotencyKey, "site_id": e.SiteID, "app_id original": e.AppIDOriginal, "app name": e.AppName,
		"app version": e.AppVersion, "type original": e.EntityTypeOriginal, "id original": e.EntityIDOriginal,
		"parent original": e.ParentIDOriginal, "business_key": e.BusinessKey, "sub_key": e.SubKey,
		"kind original": e.KindOriginal, "at original": e.AtOriginal, "status": e.Status,
	} {
		require.NotEmpty(t, s, name)
		assert.LessOrEqual(t, len(s), maxValueBytes, name)
	}
	assert.NotEqual(t, e.EntityID, e.ParentID, "ids derive from the whole string, not the cut one")
}
