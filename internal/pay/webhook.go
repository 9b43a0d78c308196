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

// EventType is a type of event. It is an enumeration rather than a string
// so that only the constants below can be emitted, and they are exactly the
// types webhook endpoints may subscribe to (EventTypes): a string literal
// does not compile where an EventType is wanted. A feature that emits a new
// type adds a constant and its name in String.
type EventType uint8

// Event types, in the order EventTypes lists them.
const (
	EventCustomerCreated EventType = iota + 1
	EventCustomerUpdated
	EventCustomerDeleted
	EventPaymentMethodAttached
	EventPaymentMethodDetached
	EventPaymentMethodUpdated
	EventPaymentIntentCreated
	EventPaymentIntentUpdated
	EventPaymentIntentSucceeded
	// EventPaymentIntentFailed is the original product's name for a failed
	// confirmation; EventPaymentIntentPaymentFailed, Stripe's, is emitted
	// with it.
	EventPaymentIntentFailed
	EventPaymentIntentPaymentFailed
	EventPaymentIntentCanceled
	EventPaymentIntentAmountCapturableUpdated
	EventChargeUpdated
	EventChargeRefunded
	EventRefundCreated
	EventRefundUpdated
	EventCheckoutSessionCompleted
	EventCheckoutSessionExpired
	EventTaxRateCreated
	EventTaxRateUpdated
	EventTestClockCreated
	EventTestClockAdvancing
	EventTestClockReady
	EventTestClockDeleted
	EventProductCreated
	EventProductUpdated
	EventProductDeleted
	EventPriceCreated
	EventPriceUpdated
	EventInvoiceItemCreated
	EventInvoiceItemUpdated
	EventInvoiceItemDeleted
	EventInvoiceCreated
	EventInvoiceUpdated
	EventInvoiceDeleted
	EventInvoiceFinalized
	EventInvoicePaid
	EventInvoicePaymentSucceeded
	EventInvoicePaymentFailed
	EventInvoiceVoided
	EventInvoiceMarkedUncollectible
	EventInvoiceSent
	EventCustomerSubscriptionCreated
	EventCustomerSubscriptionUpdated
	EventCustomerSubscriptionDeleted
	EventCustomerSubscriptionTrialWillEnd
	EventInvoiceUpcoming
	EventCustomerSubscriptionResumed
	EventCustomerSubscriptionPaused
	// EventPaymentIntentRequiresAction: the customer must authenticate
	// (3-D Secure) before the payment can go on.
	EventPaymentIntentRequiresAction
	EventSetupIntentCreated
	EventSetupIntentRequiresAction
	EventSetupIntentSucceeded
	EventSetupIntentSetupFailed
	EventSetupIntentCanceled
	EventBillingPortalConfigurationCreated
	EventBillingPortalConfigurationUpdated
	EventBillingPortalSessionCreated
	eventTypeEnd // one past the last
)

// String returns the type's name as events and enabled_events spell it.
func (t EventType) String() string {
	switch t {
	case EventCustomerCreated:
		return "customer.created"
	case EventCustomerUpdated:
		return "customer.updated"
	case EventCustomerDeleted:
		return "customer.deleted"
	case EventPaymentMethodAttached:
		return "payment_method.attached"
	case EventPaymentMethodDetached:
		return "payment_method.detached"
	case EventPaymentMethodUpdated:
		return "payment_method.updated"
	case EventPaymentIntentCreated:
		return "payment_intent.created"
	case EventPaymentIntentUpdated:
		return "payment_intent.updated"
	case EventPaymentIntentSucceeded:
		return "payment_intent.succeeded"
	case EventPaymentIntentFailed:
		return "payment_intent.failed"
	case EventPaymentIntentPaymentFailed:
		return "payment_intent.payment_failed"
	case EventPaymentIntentCanceled:
		return "payment_intent.canceled"
	case EventPaymentIntentAmountCapturableUpdated:
		return "payment_intent.amount_capturable_updated"
	case EventChargeUpdated:
		return "charge.updated"
	case EventChargeRefunded:
		return "charge.refunded"
	case EventRefundCreated:
		return "refund.created"
	case EventRefundUpdated:
		return "refund.updated"
	case EventCheckoutSessionCompleted:
		return "checkout.session.completed"
	case EventCheckoutSessionExpired:
		return "checkout.session.expired"
	case EventTaxRateCreated:
		return "tax_rate.created"
	case EventTaxRateUpdated:
		return "tax_rate.updated"
	case EventTestClockCreated:
		return "test_helpers.test_clock.created"
	case EventTestClockAdvancing:
		return "test_helpers.test_clock.advancing"
	case EventTestClockReady:
		return "test_helpers.test_clock.ready"
	case EventTestClockDeleted:
		return "test_helpers.test_clock.deleted"
	case EventProductCreated:
		return "product.created"
	case EventProductUpdated:
		return "product.updated"
	case EventProductDeleted:
		return "product.deleted"
	case EventPriceCreated:
		return "price.created"
	case EventPriceUpdated:
		return "price.updated"
	case EventInvoiceItemCreated:
		return "invoiceitem.created"
	case EventInvoiceItemUpdated:
		return "invoiceitem.updated"
	case EventInvoiceItemDeleted:
		return "invoiceitem.deleted"
	case EventInvoiceCreated:
		return "invoice.created"
	case EventInvoiceUpdated:
		return "invoice.updated"
	case EventInvoiceDeleted:
		return "invoice.deleted"
	case EventInvoiceFinalized:
		return "invoice.finalized"
	case EventInvoicePaid:
		return "invoice.paid"
	case EventInvoicePaymentSucceeded:
		return "invoice.payment_succeeded"
	case EventInvoicePaymentFailed:
		return "invoice.payment_failed"
	case EventInvoiceVoided:
		return "invoice.voided"
	case EventInvoiceMarkedUncollectible:
		return "invoice.marked_uncollectible"
	case EventInvoiceSent:
		return "invoice.sent"
	case EventCustomerSubscriptionCreated:
		return "customer.subscription.created"
	case EventCustomerSubscriptionUpdated:
		return "customer.subscription.updated"
	case EventCustomerSubscriptionDeleted:
		return "customer.subscription.deleted"
	case EventCustomerSubscriptionTrialWillEnd:
		return "customer.subscription.trial_will_end"
	case EventInvoiceUpcoming:
		return "invoice.upcoming"
	case EventPaymentIntentRequiresAction:
		return "payment_intent.requires_action"
	case EventSetupIntentCreated:
		return "setup_intent.created"
	case EventSetupIntentRequiresAction:
		return "setup_intent.requires_action"
	case EventSetupIntentSucceeded:
		return "setup_intent.succeeded"
	case EventSetupIntentSetupFailed:
		return "setup_intent.setup_failed"
	case EventSetupIntentCanceled:
		return "setup_intent.canceled"
	case EventCustomerSubscriptionPaused:
		return "customer.subscription.paused"
	case EventCustomerSubscriptionResumed:
		return "customer.subscription.resumed"
	case EventBillingPortalConfigurationCreated:
		return "billing_portal.configuration.created"
	case EventBillingPortalConfigurationUpdated:
		return "billing_portal.configuration.updated"
	case EventBillingPortalSessionCreated:
		return "billing_portal.session.created"
	}
	return ""
}

// WebhookAllEvents in enabled_events subscribes an endpoint to every type.
const WebhookAllEvents = "*"

// EventTypes returns every event type Calmony Pay emits: the one list that
// webhook endpoints' enabled_events are checked against.
func EventTypes() []EventType {
	all := make([]EventType, 0, eventTypeEnd-1)
	for t := EventType(1); t < eventTypeEnd; t++ {
		all = append(all, t)
	}
	return all
}

// ParseEventType returns the event type named name, if there is one.
func ParseEventType(name string) (EventType, bool) {
	for _, t := range EventTypes() {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

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
