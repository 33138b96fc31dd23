package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import "github.com/wafermonitor/wafermonitor/internal/sharedcomponent"

// cores hands out one exporter core per configuration: the logs, traces
// and metrics exporters of one zabbix configuration share what was
// announced to Zabbix and the job types' delivery state. The core runs
// while any of them runs: each pipeline's queue sends as soon as its own
// exporter started, and drains in its Shutdown.
var cores = sharedcomponent.NewMap[*Config, *zabbixExporter](sharedcomponent.WhileAnyRuns)
