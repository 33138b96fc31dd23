#!/usr/bin/env bash
# systemd-analyze, which internal/deploytest uses to verify the systemd unit
# in docs/deploy.md. Only the package is installed; nothing is started.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	apt_install systemd
fi
