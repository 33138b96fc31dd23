// Package v1event is the wire form of the v1 event API that the old
// monitoring sidecar's clients speak: the canonical five-key event, and the
// names of its fields and of the older clients' flat variants (fields.go),
// defined here once. The wafermonitor receiver reads events by these names,
// the webhook exporter sends Event to the old Local API, and the SDK's
// sidecar mode speaks it. The receiver accepts more than Event can hold
// (any JSON type below the top level, as the old sidecar did); Event is
// what well-behaved clients send.
package v1event // import "github.com/wafermonitor/wafermonitor/sdk/v1event"

// Event is the canonical (nested) v1 event.
type Event struct {
	IdempotencyKey string `json:"idempotency_key"`
	SiteID         string `json:"site_id"`
	App            App    `json:"app"`
	Entity         Entity `json:"entity"`
	Event          Body   `json:"event"`
}

// App names the application that reports; every field may be missing.
type App struct {
	AppID   string `json:"app_id,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Entity is the job or subjob; absent optional fields are sent as null.
type Entity struct {
	Type        string  `json:"type"`
	ID          string  `json:"id"`
	ParentID    *string `json:"parent_id"`
	BusinessKey *string `json:"business_key"`
	SubKey      *string `json:"sub_key"`
}

// Body is what happened: kind, time (RFC 3339), status, numeric metrics
// and free-form metadata.
type Body struct {
	Kind    string             `json:"kind"`
	At      string             `json:"at"`
	Status  string             `json:"status"`
	Metrics map[string]float64 `json:"metrics"`
	// Metadata is an object (map[string]any) from well-behaved clients;
	// the old sidecar kept metadata of any JSON type (a list, a string, a
	// number), and so does an Event sent back to it.
	Metadata any `json:"metadata"`
}

// Optional returns nil for an empty string, for the nullable entity fields.
func Optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
