// Package csvexporter writes job and subjob lifecycle events (log records) and
// finished entities (spans) as rows of CSV (RFC 4180) or JSON Lines files,
// with files named by a time template, rotated by size, optionally gzipped
// when closed and pruned by count and age.
//
//go:generate mdatagen metadata.yaml
package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"
