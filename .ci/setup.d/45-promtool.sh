#!/usr/bin/env bash
# Debian's prometheus package: promtool for `promtool check rules` and
# `promtool test rules` on the alerting rules in deploy/prometheus (make
# test-rules), and the prometheus server, which internal/deploytest runs on
# loopback to evaluate those rules against real collectors. The package's own
# Prometheus service is stopped and kept from starting.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
	apt_install prometheus
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	else
		service prometheus stop >/dev/null 2>&1 || true
		update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
fi
command -v promtool >/dev/null 2>&1 || { echo "45-promtool.sh: promtool missing after install" >&2; exit 1; }
echo "promtool: $(promtool --version 2>&1 | head -1)"
