// Package semconv holds the attribute names and values that every part of
// wafermonitor agrees on: the Go SDK that emits jobs, the v1 receiver that
// converts old clients' events, the jobhierarchy processor and the exporters
// that read them back. docs/semantic-conventions.md documents each name.
//
// The package has no dependencies so that applications importing the SDK,
// and components importing these names, pull in nothing else.
package semconv
