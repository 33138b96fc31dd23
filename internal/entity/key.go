package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"

import (
	"strconv"
	"time"
)

// DerivedKey is the idempotency key of an event that came without one: its
// entity, kind and time, so that the same event gets the same key on every
// path and every retry. kind is the kind as the client sent it; atOriginal,
// when set, is a time the client sent that could not be used, and stands
// for the time: "derived:<entity id>:<kind>:<unix nanoseconds>" or
// "derived:<entity id>:<kind>:at=<time as sent>".
func DerivedKey(entityID, kind string, at time.Time, atOriginal string) string {
	when := "at=" + atOriginal
	if atOriginal == "" {
		when = strconv.FormatInt(at.UnixNano(), 10)
	}
	return "derived:" + entityID + ":" + kind + ":" + when
}

// DerivedKey is the key of the viewed event had it come without one, at
// its time at (DerivedKey).
func (v View) DerivedKey(at time.Time) string {
	return DerivedKey(v.ID(), v.SentKind(), at, v.AtOriginal())
}
