package ids

import "crypto/sha1" //nolint:gosec // UUID version 5 is defined over SHA-1 (RFC 9562, section 5.5); it names, it does not protect

// Namespace is the namespace of the name-based UUIDs that FromName returns:
// 45c23c50-fa38-5692-8392-209313084840, itself the version 5 UUID of the URL
// "https://github.com/wafermonitor/wafermonitor/ids" in RFC 9562's URL
// namespace. It never changes: every id a client sent as a string is mapped
// through it, by every version of every component.
var Namespace = UUID{0x45, 0xc2, 0x3c, 0x50, 0xfa, 0x38, 0x56, 0x92, 0x83, 0x92, 0x20, 0x93, 0x13, 0x08, 0x48, 0x40}

// FromName returns the UUID that stands for an id that is not a UUID
// ("job-123"): the version 5 UUID of name in Namespace. The same string
// always gives the same UUID, so the events of an entity sent with a string
// id land in one trace, and a subjob naming its job's string id is its
// child. (A dozen lines of RFC 9562 rather than a UUID library: the SDK's
// packages depend on nothing outside the standard library and OpenTelemetry.)
func FromName(name string) UUID {
	return nameBased(Namespace, name)
}

// nameBased is RFC 9562's version 5 UUID of name in namespace ns.
func nameBased(ns UUID, name string) UUID {
	h := sha1.New() //nolint:gosec // see the import
	h.Write(ns[:])
	h.Write([]byte(name))
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	var u UUID
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}
