package freeport

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetNeverTheSameTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := Get()
		require.NoError(t, err)
		assert.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
}
