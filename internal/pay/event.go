package pay

import "encoding/json"

// APIVersion is the Stripe API version whose object shapes Calmony Pay emits:
// the version pinned by stripe-go v85, so its webhook.ConstructEvent accepts
// our events without options.
const APIVersion = "2026-03-25.dahlia"

// Event is an immutable record of a change, written in the same transaction
// as the change itself.
type Event struct {
	ID             string
	Scope          Scope
	Type           string
	Created        int64
	ObjectID       string
	Data           json.RawMessage // {"object":…,"previous_attributes":…}
	RequestID      string
	IdempotencyKey string
	APIVersion     string
	// PendingWebhooks counts the deliveries of this event to webhook
	// endpoints that have neither succeeded nor been given up.
	PendingWebhooks int
}
