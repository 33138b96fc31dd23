// Package pipelinehealthextension is the pipeline_health extension: it
// watches the collector's component status events, which the collector
// delivers only to extensions, and tells a receiver the health of the
// pipelines it feeds (pipelinehealth.Provider). The v1 receiver's health
// answer reads it: the exporters and processors of its pipelines that fail,
// the exporters that deliver again while their persistent queue still holds
// what was queued during the failure ("recovering"), the items those queues
// hold, and the storage files moved aside as damaged at start.
//
//go:generate mdatagen metadata.yaml
package pipelinehealthextension // import "github.com/wafermonitor/wafermonitor/extension/pipelinehealthextension"
