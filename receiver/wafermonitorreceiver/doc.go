// Package wafermonitorreceiver receives job and subjob lifecycle events over
// the v1 HTTP API that the old monitoring sidecar's clients speak (Python, C,
// Java, R, Perl), and converts them to logs, traces and metrics.
//
//go:generate mdatagen metadata.yaml
package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"
