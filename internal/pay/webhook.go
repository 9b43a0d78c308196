package pay

import (
	"encoding/json"
	"slices"
	"strings"
)

// Webhook ID prefixes and the signing-secret prefix.
const (
	PrefixWebhookEndpoint = "we_"
	PrefixDeliveryAttempt = "wda_"
	WebhookSecretPrefix   = "whsec_"
)

// Event types. EventTypes lists every one an endpoint may subscribe to; later
// features emit the payment ones.
const (
	EventCustomerCreated                      = "customer.created"
	EventCustomerUpdated                      = "customer.updated"
	EventCustomerDeleted                      = "customer.deleted"
	EventPaymentMethodAttached                = "payment_method.attached"
	EventPaymentMethodDetached                = "payment_method.detached"
	EventPaymentIntentCreated                 = "payment_intent.created"
	EventPaymentIntentSucceeded               = "payment_intent.succeeded"
	EventPaymentIntentFailed                  = "payment_intent.failed"
	EventPaymentIntentCanceled                = "payment_intent.canceled"
	EventPaymentIntentAmountCapturableUpdated = "payment_intent.amount_capturable_updated"
	EventChargeRefunded                       = "charge.refunded"
	EventRefundCreated                        = "refund.created"
	EventRefundUpdated                        = "refund.updated"
	EventCheckoutSessionCompleted             = "checkout.session.completed"
	EventCheckoutSessionExpired               = "checkout.session.expired"
)

// WebhookAllEvents in enabled_events subscribes an endpoint to every type.
const WebhookAllEvents = "*"

// EventTypes returns every event type Calmony Pay knows, the one list that
// webhook endpoints' enabled_events are checked against. A feature that emits
// a new type adds it here.
func EventTypes() []string {
	return []string{
		EventCustomerCreated, EventCustomerUpdated, EventCustomerDeleted,
		EventPaymentMethodAttached, EventPaymentMethodDetached,
		EventPaymentIntentCreated, EventPaymentIntentSucceeded, EventPaymentIntentFailed,
		EventPaymentIntentCanceled, EventPaymentIntentAmountCapturableUpdated,
		EventChargeRefunded, EventRefundCreated, EventRefundUpdated,
		EventCheckoutSessionCompleted, EventCheckoutSessionExpired,
	}
}

// KnownEventType reports whether t is in EventTypes.
func KnownEventType(t string) bool { return slices.Contains(EventTypes(), t) }

// Webhook endpoint statuses.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"
)

// Why a webhook endpoint is disabled.
const (
	// DisabledManual: the merchant disabled it (disabled=true).
	DisabledManual = "manual"
	// DisabledDeliveryFailures: deliveries to it kept failing for the
	// retry window (3 days), so it was disabled automatically.
	DisabledDeliveryFailures = "delivery_failures"
)

// WebhookEndpoint is a URL that receives signed events. Its signing secret is
// not here: the store keeps it encrypted and hands it out only to sign.
type WebhookEndpoint struct {
	ID            string
	Scope         Scope
	Created       int64
	URL           string
	Description   string
	EnabledEvents []string // event types, or ["*"] for all
	Metadata      map[string]string
	APIVersion    string // as asked for at creation; "" when not given
	Status        string // WebhookEnabled or WebhookDisabled

	DisabledReason string // "" while enabled; DisabledManual or DisabledDeliveryFailures
	DisabledAt     int64
	// FailingSince is when the current run of failed deliveries began; 0
	// after a success.
	FailingSince int64
}

// Wants reports whether the endpoint subscribes to events of type t.
func (ep *WebhookEndpoint) Wants(t string) bool {
	return slices.Contains(ep.EnabledEvents, WebhookAllEvents) || slices.Contains(ep.EnabledEvents, t)
}

// DeliveryAttempt is one try at POSTing an event to an endpoint.
type DeliveryAttempt struct {
	ID         string
	Scope      Scope
	Created    int64 // when the attempt started
	EventID    string
	EndpointID string
	URL        string
	Attempt    int // 1 for the first try of this event to this endpoint
	Succeeded  bool
	// StatusCode is the HTTP status the receiver answered, 0 when there was
	// no answer (timeout, refused connection, blocked address).
	StatusCode   int
	DurationMS   int64
	ResponseBody string // the start of the answer's body, truncated
	Error        string // why there was no answer, or ""
	// NextRetry is when the event will be tried again, 0 for none (success,
	// or retries given up).
	NextRetry int64
}

// EventObject is the event as the API returns it and webhooks deliver it:
// Stripe's event object at APIVersion.
type EventObject struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	APIVersion      string          `json:"api_version"`
	Created         int64           `json:"created"`
	Data            json.RawMessage `json:"data"`
	Livemode        bool            `json:"livemode"`
	PendingWebhooks int             `json:"pending_webhooks"`
	Request         EventRequest    `json:"request"`
	Type            string          `json:"type"`
}

// EventRequest names the API request that caused an event; nil fields are
// JSON null (events not caused by an API request).
type EventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// View returns the event as the API and webhooks show it.
func (e *Event) View() EventObject {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return EventObject{ID: e.ID, Object: "event", APIVersion: e.APIVersion, Created: e.Created, Data: e.Data,
		Livemode: e.Scope.Livemode, PendingWebhooks: e.PendingWebhooks, Type: e.Type,
		Request: EventRequest{ID: opt(e.RequestID), IdempotencyKey: opt(e.IdempotencyKey)}}
}

// SameAPITrain reports whether version is on the release train of
// APIVersion (the part after the dot, "dahlia"): stripe-go rejects events of
// another train.
func SameAPITrain(version string) bool {
	date, train, ok := strings.Cut(version, ".")
	_, ours, _ := strings.Cut(APIVersion, ".")
	if !ok || train != ours || len(date) != len("2006-01-02") {
		return false
	}
	for i, c := range date {
		if (i == 4 || i == 7) != (c == '-') || (c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return true
}
