// Package zabbixexporter sends job and subjob monitoring data to Zabbix over
// the Zabbix sender (trapper) protocol. Lifecycle events (logs), finished
// entities (traces) and the wafer.* metrics become values of items that
// Zabbix creates by low-level discovery from the shipped template; the old
// sidecar's wafer.<entity type>.<event kind> items can be fed as well.
//
//go:generate mdatagen metadata.yaml
package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"
