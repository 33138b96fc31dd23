#!/usr/bin/env bash
# Fuzz every decoder and parser for FUZZTIME each (default 50000 inputs: a
# count, not a duration, so that no run ends on go test's deadline in the
# middle of an input), starting from the seed corpus committed in each
# package's testdata/fuzz. A crash is written to testdata/fuzz and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-50000x}
# Each input that reaches new code is shortened before it joins the corpus,
# for up to a minute by default; CI keeps that short, so that a target's time
# goes into new inputs.
minimize=${FUZZMINIMIZETIME:-200x}
targets=(
	"FuzzDecode ./receiver/wafermonitorreceiver"
	"FuzzDirectDecode ./receiver/wafermonitorreceiver"
	"FuzzFastParse ./receiver/wafermonitorreceiver"
	"FuzzBatchLimit ./receiver/wafermonitorreceiver"
	"FuzzHTTP ./receiver/wafermonitorreceiver"
	"FuzzRestore ./processor/jobhierarchyprocessor"
	"FuzzRestoreState ./processor/jobhierarchyprocessor"
	"FuzzDecodeBatch ./processor/jobhierarchyprocessor"
	"FuzzDueCheck ./processor/jobhierarchyprocessor"
	"FuzzRestoreSchedules ./processor/jobhierarchyprocessor"
	"FuzzParseCron ./processor/jobhierarchyprocessor"
	"FuzzRetryAfter ./exporter/webhookexporter"
	"FuzzPayloads ./exporter/webhookexporter"
	"FuzzLocalAPI ./exporter/webhookexporter"
	"FuzzTranslate ./confmap/provider/integrationsprovider"
	"FuzzCSVRoundTrip ./exporter/csvexporter"
	"FuzzRepair ./exporter/csvexporter"
	"FuzzPathTemplate ./exporter/csvexporter"
	"FuzzParsePermissions ./exporter/csvexporter"
	"FuzzRowsMatchTheReferenceEncoder ./exporter/csvexporter"
	"FuzzNameTemplate ./exporter/zabbixexporter"
	"FuzzReadResponse ./exporter/zabbixexporter/internal/zabbixsender"
	"FuzzParseInfo ./exporter/zabbixexporter/internal/zabbixsender"
	"FuzzCheckFile ./extension/filestorageextension"
	"FuzzProgressClientMatchesModel ./extension/filestorageextension"
	"FuzzParseNumber ./internal/entity"
)
for t in "${targets[@]}"; do
	set -- $t
	echo "--- $1 ($2, $fuzztime)"
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$2"
done
