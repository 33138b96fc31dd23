#!/usr/bin/env bash
# Fuzz every decoder and parser for FUZZTIME each (default 20s), starting from
# the seed corpus committed in each package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
targets=(
	"FuzzDecode ./receiver/wafermonitorreceiver"
	"FuzzFastParse ./receiver/wafermonitorreceiver"
	"FuzzCountBatchItems ./receiver/wafermonitorreceiver"
	"FuzzRestore ./processor/jobhierarchyprocessor"
	"FuzzRetryAfter ./exporter/webhookexporter"
	"FuzzPayloads ./exporter/webhookexporter"
	"FuzzCSVRoundTrip ./exporter/csvexporter"
	"FuzzRepair ./exporter/csvexporter"
	"FuzzPathTemplate ./exporter/csvexporter"
	"FuzzParsePermissions ./exporter/csvexporter"
	"FuzzNameTemplate ./exporter/zabbixexporter"
	"FuzzReadResponse ./exporter/zabbixexporter/internal/zabbixsender"
	"FuzzParseInfo ./exporter/zabbixexporter/internal/zabbixsender"
)
for t in "${targets[@]}"; do
	set -- $t
	echo "--- $1 ($2, $fuzztime)"
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" "$2"
done
