//go:generate mdatagen metadata.yaml

// Package integrationsconverter is the confmap converter that adds the
// exporters of the integrations provider to the pipelines of the merged
// configuration, which list merging alone cannot do (the collector replaces
// lists when it merges configuration files).
package integrationsconverter // import "github.com/wafermonitor/wafermonitor/confmap/converter/integrationsconverter"
