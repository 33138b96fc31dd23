package wafermonitorreceiver

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The answers of accepted requests are written as json.Marshal writes them.
func TestAcceptedAnswersAsJSON(t *testing.T) {
	for _, a := range []acceptedSingle{{}, {OK: true, Accepted: 1}, {OK: true, Duplicates: 1}, {Accepted: -3, Duplicates: 1 << 40}} {
		want, err := json.Marshal(a)
		require.NoError(t, err)
		require.Equal(t, string(want), string(a.appendJSON(nil)))
	}
	for _, a := range []acceptedBatch{{}, {OK: true, Total: 100, Accepted: 98, Duplicates: 2, Spooled: 98}, {Total: -1, Spooled: 1 << 50}} {
		want, err := json.Marshal(a)
		require.NoError(t, err)
		require.Equal(t, string(want), string(a.appendJSON(nil)))
	}
}
