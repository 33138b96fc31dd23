// Package jobhierarchyprocessor gives the pipeline job-level knowledge: it
// rolls subjob spans up onto their job's span, derives the job's outcome from
// its subjobs by a configurable policy, recognises late and orphan subjobs,
// and watches the lifecycle log records of running jobs and subjobs so that
// an entity that stops reporting, or runs too long, produces synthetic
// stalled, timeout and recovered events that every exporter sees.
//
//go:generate mdatagen metadata.yaml
package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"
