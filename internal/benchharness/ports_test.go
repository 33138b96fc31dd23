package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartAgainWhenAPortIsTaken: a collector that exits at start because a
// port was taken is started again on new ports; any other failure is not.
func TestStartAgainWhenAPortIsTaken(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	taken := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	// A stand-in for the collector: fails like one whose port is taken on
	// its first start (the marker file does not exist yet), runs after.
	marker := filepath.Join(dir, "started-once")
	bin := filepath.Join(dir, "fake-collector")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nif [ ! -e "+marker+" ]; then touch "+marker+
		"; echo 'listen tcp 127.0.0.1:"+taken+": bind: address already in use'; exit 1; fi\necho 'other failure'; exit 1\n"), 0o700))
	_, err = startCollector(context.Background(), bin, filepath.Join(dir, "work"), pipeline{name: "plain"})
	require.Error(t, err)
	assert.NotErrorIs(t, err, errPortTaken, "the second start failed otherwise, and is not retried")
	assert.Contains(t, err.Error(), "other failure")
	assert.FileExists(t, marker)
}
