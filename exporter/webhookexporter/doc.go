// Package webhookexporter delivers job and subjob lifecycle events (from the
// logs pipeline) and finished entities (from the traces pipeline) to HTTP
// endpoints: the old Local API's v1 event JSON, CloudEvents 1.0, or one flat
// record per finished entity. Requests are filtered, signed with
// HMAC-SHA256, queued and retried by the exporter helper, and a payload the
// endpoint rejects for good is kept in a dead-letter file.
//
//go:generate mdatagen metadata.yaml
package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"
