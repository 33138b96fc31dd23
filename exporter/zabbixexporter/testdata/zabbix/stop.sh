#!/usr/bin/env bash
# Stops what start.sh started in DIR, by PID:
#   stop.sh DIR          everything, and removes the database cluster
#   stop.sh DIR server   only zabbix_server (it flushes its caches first)
#   stop.sh DIR kill-server  zabbix_server at once, as a crash would
set -uo pipefail

dir=${1:?usage: stop.sh DIR [server|kill-server]}
what=${2:-all}

# kill_tree PID SIGNAL SECONDS: signal PID, wait for it, then SIGKILL it and
# every child it had (zabbix_server's ~20 workers, php -S's workers).
kill_tree() {
	local pid=$1 sig=$2 secs=$3 kids i
	kill -0 "$pid" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr '\n' ' ')
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" $kids 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		local alive=0 k
		for k in $pid $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.05
	done
	return 0
}

stop_server() {
	local sig=$1 secs=$2
	if [ -f "$dir/zabbix_server.pid.main" ]; then
		kill_tree "$(cat "$dir/zabbix_server.pid.main")" "$sig" "$secs"
		rm -f "$dir/zabbix_server.pid.main"
	fi
}

case "$what" in
server) stop_server TERM 60; exit 0 ;;
kill-server) stop_server KILL 1; exit 0 ;;
esac

[ -f "$dir/php.pid" ] && kill_tree "$(cat "$dir/php.pid")" TERM 5 && rm -f "$dir/php.pid"
stop_server TERM 60
if [ -f "$dir/pgdata.path" ]; then
	pgdata=$(cat "$dir/pgdata.path")
	if [ -f "$pgdata/data/postmaster.pid" ]; then
		pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
		if [ "$(id -u)" = 0 ]; then
			runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata/data" -m immediate -w stop >/dev/null 2>&1
		else
			"$pgbin/pg_ctl" -D "$pgdata/data" -m immediate -w stop >/dev/null 2>&1
		fi
	fi
	[ -f "$dir/postgres.pid" ] && kill_tree "$(cat "$dir/postgres.pid")" KILL 1
	case "$pgdata" in /tmp/wafermonitor-zabbix-pg.*) rm -rf "$pgdata" ;; esac
	rm -f "$dir/pgdata.path"
fi
exit 0
