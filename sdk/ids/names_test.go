package ids

import (
	"strings"
	"testing"
)

// uuidOf parses the canonical form.
func uuidOf(t *testing.T, s string) UUID {
	t.Helper()
	return mustUUID(t, strings.ReplaceAll(s, "-", ""))
}

// The reference values are Python's uuid.uuid5, an independent implementation.
func TestNameBased(t *testing.T) {
	tests := []struct {
		ns, name, want string
	}{
		// RFC 9562's DNS namespace, the example of Python's documentation.
		{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", "886313e1-3b8a-5372-9b90-0c9aee199e5d"},
		// Namespace is derived from the URL namespace as documented.
		{"6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://github.com/wafermonitor/wafermonitor/ids", "45c23c50-fa38-5692-8392-209313084840"},
	}
	for _, tt := range tests {
		if got := nameBased(uuidOf(t, tt.ns), tt.name); got != uuidOf(t, tt.want) {
			t.Errorf("v5(%s, %q) = %x, want %s", tt.ns, tt.name, got, tt.want)
		}
	}
	if Namespace != uuidOf(t, "45c23c50-fa38-5692-8392-209313084840") {
		t.Errorf("Namespace is %x", Namespace)
	}
}

func TestFromName(t *testing.T) {
	if got, want := FromName("job-123"), uuidOf(t, "5f4ff086-8ba6-572c-83ff-ea88802f7964"); got != want {
		t.Errorf("FromName(job-123) = %x, want %x", got, want)
	}
	if first, again := FromName("job-123"), FromName("job-123"); first != again || first == FromName("job-124") {
		t.Error("FromName is not a function of its name")
	}
}
