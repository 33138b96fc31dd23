//go:generate mdatagen metadata.yaml

// Package integrationsprovider is a confmap provider that runs the old
// monitoring sidecar's integrations list (INTEGRATIONS_CONFIG, usually
// config/integrations.json) as collector configuration: each enabled entry
// becomes an exporter named after it, with a persistent sending queue, and
// the integrations converter adds it to the pipelines of the configuration
// loaded beside it. See README.md and docs/migrating.md.
package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"
