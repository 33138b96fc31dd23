package localapitest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFromISOFormat: what Python 3.10's datetime.fromisoformat takes and
// refuses.
func TestFromISOFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-10-19T12:00:00+00:00", time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC), true},
		{"2025-10-19T12:00:00.123456+00:00", time.Date(2025, 10, 19, 12, 0, 0, 123456000, time.UTC), true},
		{"2025-10-19T12:00:00.123+00:00", time.Date(2025, 10, 19, 12, 0, 0, 123000000, time.UTC), true},
		{"2025-10-19T14:00:00+02:00", time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC), true},
		{"2025-10-19 12:00:00", time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC), true},
		{"2025-10-19", time.Date(2025, 10, 19, 0, 0, 0, 0, time.UTC), true},
		{"2025-10-19T12:00:00Z", time.Time{}, false},
		{"2025-10-19T12:00:00.123456789+00:00", time.Time{}, false},
		{"2025-10-19T12:00:00.12345+00:00", time.Time{}, false},
		{"2025-02-30T12:00:00+00:00", time.Time{}, false},
		{"1760875200", time.Time{}, false},
	} {
		got, err := FromISOFormat(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.True(t, tc.want.Equal(got), "%s: got %s", tc.in, got)
	}
}
