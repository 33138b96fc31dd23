package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

// resourceIndex finds the records of a resource in the signal being built.
// A request's events nearly always share one resource: the last one is
// kept aside, and a map is made only for a request of several.
type resourceIndex[T any] struct {
	last     entity.Resource
	lastVal  T
	hasLast  bool
	byResKey map[entity.Resource]T
}

func (x *resourceIndex[T]) get(key entity.Resource) (T, bool) {
	if x.hasLast && x.last == key {
		return x.lastVal, true
	}
	v, ok := x.byResKey[key]
	if ok {
		x.last, x.lastVal = key, v
	}
	return v, ok
}

func (x *resourceIndex[T]) put(key entity.Resource, v T) {
	if x.hasLast {
		if x.byResKey == nil {
			x.byResKey = map[entity.Resource]T{x.last: x.lastVal}
		}
		x.byResKey[key] = v
	}
	x.last, x.lastVal, x.hasLast = key, v, true
}

// eventNames are the event names (semconv.EventName) of every entity type
// and kind an event may have, made once rather than for each event.
var eventNames = func() map[[2]string]string {
	m := map[[2]string]string{}
	for _, typ := range []string{semconv.EntityTypeJob, semconv.EntityTypeSubjob} {
		for _, kind := range append(eventKinds[:], semconv.KindOther) {
			m[[2]string{typ, kind}] = semconv.EventName(typ, kind)
		}
	}
	return m
}()

// eventName is semconv.EventName(entityType, kind).
func eventName(entityType, kind string) string {
	if name, ok := eventNames[[2]string{entityType, kind}]; ok {
		return name
	}
	return semconv.EventName(entityType, kind)
}
