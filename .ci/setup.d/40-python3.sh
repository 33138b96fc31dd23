#!/usr/bin/env bash
# python3 for the csv exporter's tests, which read every written row back
# with Python's csv and json modules to prove the files interoperate.
set -euo pipefail

if ! command -v python3 >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3
fi
