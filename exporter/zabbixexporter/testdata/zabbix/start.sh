#!/usr/bin/env bash
# Starts a private Zabbix 6.0 for tests, everything on 127.0.0.1 and under DIR:
#   start.sh DIR PG_PORT TRAPPER_PORT API_PORT   database, server and API
#   start.sh DIR server                          the server again (after stop.sh DIR server)
# With DIR/tls/{ca,server,server-key}.pem present, the server takes TLS
# connections with certificates as well.
# A PostgreSQL cluster (durability off) gets a fresh database from the
# schema that zabbix-server-pgsql ships, without the stock templates;
# zabbix_server runs in the foreground with its trapper on TRAPPER_PORT and
# a 1 s configuration cache refresh; the frontend is copied to DIR with its
# own configuration and its JSON-RPC API served by `php -S` on API_PORT
# (Admin / zabbix). PIDs are kept in DIR/*.pid for stop.sh.
# Needs the packages that .ci/setup.d/50-zabbix.sh installs.
set -euo pipefail

dir=${1:?usage: start.sh DIR PG_PORT TRAPPER_PORT API_PORT | start.sh DIR server}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
SCHEMA=/usr/share/zabbix-server-pgsql
FRONTEND=/usr/share/zabbix
for need in "$PGBIN/initdb" /usr/sbin/zabbix_server "$SCHEMA/schema.sql.gz" "$FRONTEND/api_jsonrpc.php" /usr/bin/php; do
	if [ ! -e "$need" ]; then
		echo "start.sh: $need is missing: run .ci/setup.d/50-zabbix.sh (as root) to install Zabbix 6.0 and PostgreSQL" >&2
		exit 3
	fi
done

# PostgreSQL refuses to run as root; use the postgres account then.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_port() { # port seconds what
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "start.sh: $3 did not listen on 127.0.0.1:$1 within $2 s" >&2
	return 1
}

launch_server() {
	# -f: foreground, so that the PID is ours and its children are known.
	/usr/sbin/zabbix_server -f -c "$dir/zabbix_server.conf" >>"$dir/zabbix_server.out" 2>&1 &
	echo $! >"$dir/zabbix_server.pid.main"
}

wait_server() {
	local port pid i
	port=$(cat "$dir/trapper.port")
	pid=$(cat "$dir/zabbix_server.pid.main")
	for ((i = 0; i < 60 * 20; i++)); do
		if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "start.sh: zabbix_server exited:" >&2
			tail -20 "$dir/zabbix_server.out" "$dir/zabbix_server.log" >&2 2>/dev/null
			exit 1
		fi
		sleep 0.05
	done
	echo "start.sh: zabbix_server did not listen on 127.0.0.1:$port within 60 s" >&2
	tail -20 "$dir/zabbix_server.log" >&2
	exit 1
}

if [ "${2:-}" = server ]; then
	launch_server
	wait_server
	exit 0
fi

pg_port=${2:?PG_PORT}
trapper_port=${3:?TRAPPER_PORT}
if [ "$trapper_port" -lt 1024 ] || [ "$trapper_port" -gt 32767 ]; then
	echo "start.sh: TRAPPER_PORT must be in 1024-32767 (Zabbix's ListenPort range), got $trapper_port" >&2
	exit 2
fi
api_port=${4:?API_PORT}
echo "$trapper_port" >"$dir/trapper.port"

# The cluster lives in its own directory that the postgres account can reach
# (test temporary directories are private to their owner).
pgdata=$(mktemp -d /tmp/wafermonitor-zabbix-pg.XXXXXX)
chmod 0755 "$pgdata"
echo "$pgdata" >"$dir/pgdata.path"
if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdata"; fi
as_pg "$PGBIN/initdb" -D "$pgdata/data" -U zabbix -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$pgdata/data" -l "$pgdata/postgres.log" -w -t 60 start \
	-o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pgdata -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
	{ cat "$pgdata/postgres.log" >&2; exit 1; }
head -1 "$pgdata/data/postmaster.pid" >"$dir/postgres.pid"

psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U zabbix)
"${psql[@]}" -d postgres -c "CREATE DATABASE zabbix ENCODING 'UTF8' TEMPLATE template0" >/dev/null

# Loading data.sql takes half a minute of database CPU, so the prepared
# database is dumped once per machine and package version and restored
# from then on.
cache_dir=${WAFERMONITOR_ZABBIX_CACHE:-/var/tmp/wafermonitor-zabbix-cache}
mkdir -p "$cache_dir"
key=$( (/usr/sbin/zabbix_server -V | head -1; md5sum "$SCHEMA"/{schema,images,data}.sql.gz "$0") | md5sum | cut -c1-16)
dump="$cache_dir/zabbix-$key.dump"
exec 9>"$cache_dir/lock"
flock 9
if [ -s "$dump" ]; then
	pg_restore -h 127.0.0.1 -p "$pg_port" -U zabbix -d zabbix --no-owner "$dump"
else
	for f in schema images data; do
		zcat "$SCHEMA/$f.sql.gz" | "${psql[@]}" -d zabbix >/dev/null
	done
	# Without the ~325 stock templates (and the host they are linked to) a
	# configuration cache refresh takes milliseconds, so a 1 s refresh
	# costs nothing.
	"${psql[@]}" -d zabbix >/dev/null <<'SQL'
BEGIN;
UPDATE items SET valuemapid = NULL, master_itemid = NULL;
DELETE FROM optemplate;
DELETE FROM lld_override_optemplate;
DELETE FROM graphs;
DELETE FROM hosts WHERE status IN (0, 1, 3);
COMMIT;
SQL
	pg_dump -h 127.0.0.1 -p "$pg_port" -U zabbix -Fc -f "$dump.tmp" zabbix && mv "$dump.tmp" "$dump"
fi
flock -u 9

cat >"$dir/zabbix_server.conf" <<CONF
ListenIP=127.0.0.1
ListenPort=$trapper_port
DBHost=127.0.0.1
DBPort=$pg_port
DBName=zabbix
DBUser=zabbix
LogFile=$dir/zabbix_server.log
LogFileSize=0
PidFile=$dir/zabbix_server.pid
SocketDir=$dir
AllowRoot=1
CacheUpdateFrequency=1
HousekeepingFrequency=0
StartPollers=1
StartPollersUnreachable=1
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartTimers=1
StartEscalators=1
StartAlerters=1
StartTrappers=4
StartPreprocessors=2
StartLLDProcessors=2
StartDBSyncers=2
StartHistoryPollers=1
StartReportWriters=0
StartODBCPollers=0
Timeout=4
CONF
# Certificates for TLS, when the caller put them in DIR/tls.
if [ -f "$dir/tls/ca.pem" ]; then
	cat >>"$dir/zabbix_server.conf" <<CONF
TLSCAFile=$dir/tls/ca.pem
TLSCertFile=$dir/tls/server.pem
TLSKeyFile=$dir/tls/server-key.pem
CONF
fi
# The server takes seconds to load its configuration; the frontend is set
# up meanwhile.
launch_server

# The frontend reads its configuration from a fixed path; a private copy
# points it at this directory instead of /etc/zabbix.
cp -a "$FRONTEND" "$dir/frontend"
rm -f "$dir/frontend/conf/zabbix.conf.php"
cat >"$dir/zabbix.conf.php" <<PHP
<?php
\$DB['TYPE'] = 'POSTGRESQL';
\$DB['SERVER'] = '127.0.0.1';
\$DB['PORT'] = '$pg_port';
\$DB['DATABASE'] = 'zabbix';
\$DB['USER'] = 'zabbix';
\$DB['PASSWORD'] = '';
\$DB['SCHEMA'] = '';
\$DB['ENCRYPTION'] = false;
\$DB['KEY_FILE'] = '';
\$DB['CERT_FILE'] = '';
\$DB['CA_FILE'] = '';
\$DB['VERIFY_HOST'] = false;
\$DB['CIPHER_LIST'] = '';
\$DB['VAULT_URL'] = '';
\$DB['VAULT_DB_PATH'] = '';
\$DB['VAULT_TOKEN'] = '';
\$DB['DOUBLE_IEEE754'] = true;
\$ZBX_SERVER = '127.0.0.1';
\$ZBX_SERVER_PORT = '$trapper_port';
\$ZBX_SERVER_NAME = 'wafermonitor-test';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
PHP
sed -i "s|const CONFIG_FILE_PATH = '.*';|const CONFIG_FILE_PATH = '$dir/zabbix.conf.php';|" \
	"$dir/frontend/include/classes/core/CConfigFile.php"
PHP_CLI_SERVER_WORKERS=4 php -d memory_limit=512M -d max_execution_time=300 -d post_max_size=64M \
	-d date.timezone=UTC -S "127.0.0.1:$api_port" -t "$dir/frontend" >"$dir/php.log" 2>&1 &
echo $! >"$dir/php.pid"
wait_port "$api_port" 30 "php -S" || { cat "$dir/php.log" >&2; exit 1; }
wait_server
echo "zabbix: trapper 127.0.0.1:$trapper_port, API http://127.0.0.1:$api_port/api_jsonrpc.php, database 127.0.0.1:$pg_port"
