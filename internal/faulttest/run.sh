#!/usr/bin/env bash
# Runs the fault tests against the real binary and prints their figures
# (one FAULTTEST line per test). Usage: internal/faulttest/run.sh [-run REGEXP]
# Builds bin/otelcol-wafermonitor first unless OTELCOL_WAFERMONITOR_BIN is set.
# Root is needed for TestDiskFull (it mounts a 2 MiB tmpfs); it is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${OTELCOL_WAFERMONITOR_BIN:-}" ]; then
	make build >/dev/null
	export OTELCOL_WAFERMONITOR_BIN=$PWD/bin/otelcol-wafermonitor
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
go test -count=1 -v -timeout 15m "$@" ./internal/faulttest/ >"$log" 2>&1 || rc=$?
grep -E '^(--- (PASS|FAIL|SKIP)|FAULTTEST|ok|FAIL)' "$log" || true
if [ "$rc" != 0 ]; then
	echo "--- output of the failed run:"
	grep -vE '^\s+20[0-9]{2}-' "$log" | tail -100
fi
exit "$rc"
