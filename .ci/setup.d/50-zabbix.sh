#!/usr/bin/env bash
# Packages for the zabbix exporter's end-to-end test: Zabbix 6.0 server with
# PostgreSQL, the PHP frontend (its JSON-RPC API is served by `php -S`), and
# PostgreSQL itself. The test starts a private database cluster, zabbix_server
# and the API on 127.0.0.1 by itself (exporter/zabbixexporter/testdata/zabbix);
# nothing system-wide is configured or left running here.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

pkgs=(zabbix-server-pgsql zabbix-frontend-php php8.2-cli php8.2-cgi php8.2-pgsql postgresql)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt_install "${missing[@]}"
fi

# The packages may start the distribution's own services; the test uses its
# own instances on other ports, so stop these and keep them from starting.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now zabbix-server.service >/dev/null 2>&1 || true
	systemctl disable --now postgresql.service >/dev/null 2>&1 || true
else
	service zabbix-server stop >/dev/null 2>&1 || true
	update-rc.d zabbix-server disable >/dev/null 2>&1 || true
fi
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
		if [ "$status" = online ]; then pg_ctlcluster "$ver" "$name" stop || true; fi
	done
fi
# Leftover zabbix_server processes from the package's own service.
if [ -f /run/zabbix/zabbix_server.pid ]; then
	kill "$(cat /run/zabbix/zabbix_server.pid)" 2>/dev/null || true
fi

for bin in zabbix_server php php-cgi initdb pg_ctl; do
	command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/15/bin/$bin" ] || { echo "50-zabbix.sh: $bin missing after install" >&2; exit 1; }
done
echo "zabbix: $(zabbix_server -V | head -1)"
