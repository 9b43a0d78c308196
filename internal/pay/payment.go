package pay

// More ID prefixes.
const (
	PrefixPaymentMethod = "pm_"
	PrefixPaymentIntent = "pi_"
	PrefixCharge        = "ch_"
	PrefixRefund        = "re_"
	PrefixGatewayOp     = "gop_"
)

// BillingDetails is a payment method's billing contact. It is personal data.
type BillingDetails struct {
	Name    string   `json:"name,omitempty"`
	Email   string   `json:"email,omitempty"`
	Phone   string   `json:"phone,omitempty"`
	Address *Address `json:"address,omitempty"`
}

// CardDetails describes a tokenised card without its number or CVC.
type CardDetails struct {
	Brand             string `json:"brand"` // visa, mastercard, amex, …
	Last4             string `json:"last4"`
	ExpMonth          int    `json:"exp_month"`
	ExpYear           int    `json:"exp_year"`
	Funding           string `json:"funding"` // credit, debit, prepaid, unknown
	Country           string `json:"country"` // issuer country, ISO alpha-2, "" if unknown
	Fingerprint       string `json:"fingerprint"`
	CVCCheck          string `json:"cvc_check"` // pass, fail, unavailable, unchecked
	AddressLine1Check string `json:"address_line1_check"`
	PostalCheck       string `json:"address_postal_code_check"`
	// TestDecline is set on a test-mode card made from one of Stripe's
	// decline test cards (pm_card_chargeDeclined, 4000000000000002): the
	// Stripe decline code its charges get. Unless TestAttaches, attaching
	// it to a customer is declined too, as Stripe's are. Never shown.
	TestDecline  string `json:"test_decline,omitempty"`
	TestAttaches bool   `json:"test_attaches,omitempty"`
	// TestThreeDS is set on a test-mode card made from one of Stripe's test
	// cards: how it behaves under 3-D Secure (TestThreeDS* below). Never
	// shown.
	TestThreeDS string `json:"test_three_ds,omitempty"`
	// SetUpOffSession records that the card was authenticated by its
	// customer (3-D Secure) on a payment made with
	// setup_future_usage=off_session: later merchant-initiated payments
	// are exempt. Never shown.
	SetUpOffSession bool `json:"set_up_off_session,omitempty"`
	// ThreeDSecure is a charge's 3-D Secure result (nil when none ran).
	ThreeDSecure *ThreeDSecureResult `json:"three_d_secure,omitempty"`
}

// How one of Stripe's test cards behaves under 3-D Secure
// (CardDetails.TestThreeDS).
const (
	// TestThreeDSNone: supported, not enrolled (4242424242424242): no
	// challenge, ever.
	TestThreeDSNone = "none"
	// TestThreeDSRequired: every customer-initiated payment is challenged;
	// merchant-initiated ones fail with authentication_required.
	TestThreeDSRequired = "required"
	// TestThreeDSOnSetup: as required, except that merchant-initiated
	// payments succeed once the card was authenticated for off-session use.
	TestThreeDSOnSetup = "on_setup"
	// TestThreeDSSetUp: challenged on-session, already set up for
	// merchant-initiated payments, which succeed.
	TestThreeDSSetUp = "set_up"
	// TestThreeDSOptional: authenticated without a challenge (frictionless)
	// unless a challenge is requested.
	TestThreeDSOptional = "optional"
)

// ThreeDSecureResult is Stripe's
// payment_method_details.card.three_d_secure of a charge.
type ThreeDSecureResult struct {
	// AuthenticationFlow is challenge or frictionless.
	AuthenticationFlow string `json:"authentication_flow,omitempty"`
	// ECI is the electronic commerce indicator (05 authenticated, 06
	// attempted, 07 none).
	ECI string `json:"electronic_commerce_indicator,omitempty"`
	// Result: authenticated, attempt_acknowledged, failed, not_supported,
	// processing_error.
	Result       string `json:"result"`
	ResultReason string `json:"result_reason,omitempty"`
	// TransactionID is the 3-D Secure transaction (threeDSXID), if given.
	TransactionID string `json:"transaction_id,omitempty"`
	Version       string `json:"version,omitempty"`
	// Letter is the gateway's result (Y/A/N/R/U/E/I).
	Letter string `json:"letter,omitempty"`
}

// ThreeDSAction is a payment intent's pending 3-D Secure step: what the
// customer's browser must post to the issuer's ACS, and how to come back.
type ThreeDSAction struct {
	// Token is the credential in the page's address (and the ACS's return
	// address): whoever has it may run the authentication.
	Token string `json:"token"`
	// ReturnURL is confirm's return_url ("" when none was given: the
	// next_action is use_stripe_sdk and the page ends on a page of ours).
	ReturnURL string `json:"return_url,omitempty"`
	// Ref is the gateway's threeDSRef; URL the ACS (or method) URL; Request
	// the fields to post there, in order.
	Ref     string      `json:"ref"`
	URL     string      `json:"url"`
	Request [][2]string `json:"request"`
	// XRef is the gateway transaction being authenticated.
	XRef string `json:"xref"`
	// Page is the address of the 3-D Secure page (next_action's url).
	Page string `json:"page"`
}

// Method reports whether a is the method (device fingerprint) step: the
// gateway's request carries threeDSMethodData, to be posted from a hidden
// frame (cardstream-protocol.md §5.4), rather than a challenge.
func (a *ThreeDSAction) Method() bool {
	for _, f := range a.Request {
		if f[0] == "threeDSMethodData" {
			return true
		}
	}
	return false
}

// ThreeDSMethodTimeout is the threeDSMethodData a method step's
// continuation carries when the ACS did not answer in time.
const ThreeDSMethodTimeout = "timeout"

// ThreeDSPagePath is where a payment intent's 3-D Secure page is:
// ThreeDSPagePath + its ID, with ?token=.
const ThreeDSPagePath = "/3ds/"

// PaymentMethod is a stored card. XRef is the Cardstream token that charges it.
type PaymentMethod struct {
	ID       string
	Scope    Scope
	Created  int64
	Customer string // "" when not attached
	Type     string // "card"
	Card     CardDetails
	Billing  BillingDetails
	XRef     string
	Metadata map[string]string
}

// Payment intent statuses.
const (
	StatusRequiresPaymentMethod = "requires_payment_method"
	StatusRequiresConfirmation  = "requires_confirmation"
	StatusRequiresAction        = "requires_action"
	StatusProcessing            = "processing"
	StatusRequiresCapture       = "requires_capture"
	StatusSucceeded             = "succeeded"
	StatusCanceled              = "canceled"
)

// The state rules of a payment intent: which of its statuses allow which
// action, as Stripe's. Handlers and operations ask these, never compare
// statuses themselves.

// Confirmable reports whether the intent may be confirmed: it waits for a
// payment method, a confirmation or a customer's action. An intent in
// these statuses is also cancelled without the gateway (nothing is held).
func (pi *PaymentIntent) Confirmable() bool {
	switch pi.Status {
	case StatusRequiresPaymentMethod, StatusRequiresConfirmation, StatusRequiresAction:
		return true
	}
	return false
}

// Capturable reports whether the intent holds an authorisation to capture,
// or to void at the gateway when it is cancelled.
func (pi *PaymentIntent) Capturable() bool { return pi.Status == StatusRequiresCapture }

// Editable reports whether the intent's amount, currency, payment method,
// customer and capture method may still change.
func (pi *PaymentIntent) Editable() bool {
	return pi.Status == StatusRequiresPaymentMethod || pi.Status == StatusRequiresConfirmation
}

// Refundable reports whether the intent has a successful charge to refund.
func (pi *PaymentIntent) Refundable() bool { return pi.Status == StatusSucceeded }

// UnexpectedState is Stripe's error for an action (confirm, capture, cancel,
// update) the intent's status does not allow.
func (pi *PaymentIntent) UnexpectedState(action string) *Error {
	return InvalidRequest("payment_intent_unexpected_state", "",
		"You cannot %s this PaymentIntent because it has a status of %s.", action, pi.Status)
}

// MinimumAmount is Stripe's smallest chargeable amount in currency, in its
// smallest unit; 0 for a currency without one.
func MinimumAmount(currency string) int64 {
	switch currency {
	case "gbp":
		return 30
	case "eur", "usd":
		return 50
	}
	return 0
}

// IsCancellationReason reports whether reason is one of Stripe's
// cancellation reasons for a payment intent: duplicate, fraudulent,
// requested_by_customer or abandoned.
func IsCancellationReason(reason string) bool {
	switch reason {
	case "duplicate", "fraudulent", "requested_by_customer", "abandoned":
		return true
	}
	return false
}

// LastPaymentError is why the last confirmation failed.
type LastPaymentError struct {
	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	Message       string `json:"message"`
	PaymentMethod string `json:"payment_method,omitempty"`
}

// PaymentIntent is a payment from start to finish.
type PaymentIntent struct {
	ID                  string
	Scope               Scope
	Created             int64
	Amount              int64
	Currency            string
	Status              string
	CaptureMethod       string // automatic or manual
	Customer            string
	PaymentMethod       string
	Description         string
	StatementDescriptor string
	ReceiptEmail        string
	SetupFutureUsage    string
	Metadata            map[string]string
	AmountCapturable    int64
	AmountReceived      int64
	CanceledAt          int64
	CancellationReason  string
	LastError           *LastPaymentError
	LatestCharge        string
	ClientSecret        string
	// Attempt counts gateway attempts; each has its own transactionUnique.
	Attempt int
	// RequestThreeDS is payment_method_options[card][request_three_d_secure]
	// (automatic, any or challenge; "" is automatic).
	RequestThreeDS string
	// Action is the pending 3-D Secure step while the status is
	// requires_action.
	Action *ThreeDSAction
}

// Charge is one gateway transaction of a payment intent.
type Charge struct {
	ID             string
	Scope          Scope
	Created        int64
	PaymentIntent  string
	Customer       string
	PaymentMethod  string
	Amount         int64
	AmountCaptured int64
	AmountRefunded int64
	Currency       string
	Status         string // succeeded, pending, failed
	Captured       bool
	FailureCode    string
	FailureMessage string
	DeclineCode    string
	Card           CardDetails
	Description    string
	Metadata       map[string]string
	AuthCode       string
	GatewayTxnID   string
	XRef           string
	// Gateway is the raw verified gateway response, as form-encoded text.
	Gateway string
}

// Refundable reports whether the charge has captured funds to refund.
func (c *Charge) Refundable() bool { return c.Captured && c.Status == "succeeded" }

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
	// RefundRequiresAction: the refund's gateway op is parked for an
	// operator (our ledger and the gateway's disagree, or its outcome is
	// unknown); no other refund of the charge can start meanwhile.
	RefundRequiresAction = "requires_action"
)

// Refund gives back all or part of a charge.
type Refund struct {
	ID            string
	Scope         Scope
	Created       int64
	Charge        string
	PaymentIntent string
	Amount        int64
	Currency      string
	Reason        string
	Status        string
	FailureReason string
	Metadata      map[string]string
	// Method is how the gateway gave the money back: cancel, capture or refund_sale.
	Method       string
	GatewayTxnID string
}

// IsRefundReason reports whether reason is one of Stripe's refund reasons:
// duplicate, fraudulent or requested_by_customer.
func IsRefundReason(reason string) bool {
	switch reason {
	case "duplicate", "fraudulent", "requested_by_customer":
		return true
	}
	return false
}

// GatewayOp records a gateway call before it is made, so a crash between
// the call and the database write can be recovered: a pending op is one
// whose outcome has not been recorded yet.
type GatewayOp struct {
	ID                string
	Scope             Scope
	Created           int64
	Kind              string // sale, capture, cancel, refund
	ObjectID          string // the payment intent or refund it is for
	TransactionUnique string
	State             string // pending, done, attention
	Note              string
	Attempts          int
	Updated           int64
	// Owner holds the op until LeaseUntil (unix seconds): the request that
	// recorded it, or a reconciler, renews the lease while it waits on the
	// gateway; nobody else acts on the op before the lease has lapsed.
	Owner      string
	LeaseUntil int64
	// IdempotencyKey is the key of the request that recorded the op, bound
	// to it: whoever settles the op stores that request's response under
	// it, rendered with Expand.
	IdempotencyKey string
	Expand         []string
}

// Gateway op states.
const (
	OpPending   = "pending"
	OpDone      = "done"
	OpAttention = "attention" // outcome unknown: needs an operator (see README)
)
