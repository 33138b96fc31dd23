//go:build !linux

package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

// dropMappedPages does nothing where /proc/self/maps is missing: the pages
// bbolt read stay mapped until the file is closed.
func dropMappedPages(string) error { return nil }
