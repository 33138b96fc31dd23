package v1event_test

import (
	"encoding/json"
	"fmt"

	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// An event as the old clients send it; absent entity fields are null.
func ExampleEvent() {
	ev := v1event.Event{
		IdempotencyKey: "0f8fad5b-d9cb-469f-a165-70867728950e",
		SiteID:         "fab1",
		App:            v1event.App{Name: "litho-scheduler", Version: "1.4.2"},
		Entity: v1event.Entity{
			Type:        "job",
			ID:          "a1b2c3d4-e5f6-4789-8abc-def012345678",
			BusinessKey: v1event.Optional("lot-4711"),
			SubKey:      v1event.Optional(""),
		},
		Event: v1event.Body{
			Kind: "started", At: "2025-10-19T12:00:00Z", Status: "running",
			Metrics: map[string]float64{}, Metadata: map[string]any{},
		},
	}
	b, _ := json.Marshal(ev)
	fmt.Println(string(b))
	// Output:
	// {"idempotency_key":"0f8fad5b-d9cb-469f-a165-70867728950e","site_id":"fab1","app":{"name":"litho-scheduler","version":"1.4.2"},"entity":{"type":"job","id":"a1b2c3d4-e5f6-4789-8abc-def012345678","parent_id":null,"business_key":"lot-4711","sub_key":null},"event":{"kind":"started","at":"2025-10-19T12:00:00Z","status":"running","metrics":{},"metadata":{}}}
}
