#!/usr/bin/env bash
# python3 for the csv exporter's tests, which read every written row back
# with Python's csv and json modules to prove the files interoperate.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	apt_install python3
fi
