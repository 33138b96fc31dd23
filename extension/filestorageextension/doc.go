// Package filestorageextension is this distribution's file_storage: the
// contrib file storage extension, unchanged in its configuration and its
// files, with two additions. Before a component gets its storage client,
// the component's bbolt file is checked without bbolt, so that a file cut
// short or damaged by a power loss cannot crash the collector at start; a
// damaged file is moved aside (kept, logged, counted, reported as a
// component status event) and the component starts empty. And the extension
// reads the exporter helper's queue metadata as it is written through its
// clients, so that it can tell how many items every persistent sending
// queue holds (spool.Source).
//
//go:generate mdatagen metadata.yaml
package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"
