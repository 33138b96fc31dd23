// Package gomemoryextension is the go_memory extension: it gives the Go
// runtime a soft memory limit where the memory_limiter processor starts
// refusing data (its limit less its spike limit), so that garbage not yet
// collected does not count against the collector, and it hands the memory
// the heap no longer uses back to the system once the collector is quiet
// after a load, instead of holding it until the runtime's next periodic
// collection and scavenging.
//
//go:generate mdatagen metadata.yaml
package gomemoryextension // import "github.com/wafermonitor/wafermonitor/extension/gomemoryextension"
