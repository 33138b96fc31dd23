#!/bin/sh
# Runs the side-by-side benchmarks from the repository root and writes
# docs/benchmarks.md and docs/benchmarks.svg. Extra arguments go to the
# harness (go run ./internal/benchharness -h lists them). Set
# OTELCOL_WAFERMONITOR_BIN to use an already built collector.
set -eu
cd "$(dirname "$0")/../.."
export CGO_ENABLED=0
exec go run ./internal/benchharness "$@"
