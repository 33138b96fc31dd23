#!/usr/bin/env bash
# systemd-analyze, which internal/deploytest uses to verify the systemd unit
# in docs/deploy.md. Only the package is installed; nothing is started.
set -euo pipefail

if ! command -v systemd-analyze >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd
fi
