package pay

import "slices"

// More ID prefixes. Checkout session IDs carry the mode, as Stripe's do.
const (
	PrefixCheckoutTest = "cs_test_"
	PrefixCheckoutLive = "cs_live_"
	PrefixLineItem     = "li_"
)

// Checkout session statuses.
const (
	CheckoutOpen     = "open"
	CheckoutComplete = "complete"
	CheckoutExpired  = "expired"
)

// LineItem is one line of a checkout session.
type LineItem struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	UnitAmount  int64  `json:"unit_amount"`
	Quantity    int64  `json:"quantity"`
}

// Total is the line's amount.
func (l LineItem) Total() int64 { return l.UnitAmount * l.Quantity }

// CheckoutAttempt records the last hosted payment attempt that did not pay.
type CheckoutAttempt struct {
	TransactionUnique string `json:"transaction_unique,omitempty"`
	ResponseCode      int    `json:"response_code"`
	ResponseMessage   string `json:"response_message"`
	At                int64  `json:"at"`
}

// CheckoutSession is a hosted payment page for a set of line items.
type CheckoutSession struct {
	ID                string
	Scope             Scope
	Created           int64
	ExpiresAt         int64
	Mode              string // payment
	Status            string
	PaymentStatus     string // unpaid or paid
	Currency          string
	AmountTotal       int64
	LineItems         []LineItem
	SuccessURL        string
	CancelURL         string
	Customer          string
	CustomerEmail     string // personal data
	ClientReferenceID string
	Metadata          map[string]string
	// PaymentIntentData is copied onto the payment intent made on payment.
	PIMetadata            map[string]string
	PIDescription         string
	PICaptureMethod       string
	PIStatementDescriptor string
	PaymentIntent         string
	// Attempt counts the hosted payment attempts whose result arrived. A
	// page view records nothing: each has its own transactionUnique,
	// "{ID}-{nonce}-{MAC}", which the callback checks by its MAC.
	Attempt     int
	LastAttempt *CheckoutAttempt
	// PaidXRef is the gateway transaction that paid the session.
	PaidXRef string
	// PaidAfterExpiry flags a payment that arrived after the session expired:
	// the money moved, so it is recorded, and the merchant should look at it.
	PaidAfterExpiry bool
	// Invoice is the invoice the session pays, "" for a merchant's checkout
	// session. An invoice's session is internal: made when its customer
	// presses Pay on the hosted invoice page, never shown by the API, with
	// no checkout.session events.
	Invoice string
	// PortalSession is the portal session whose customer replaces their
	// card through the session (mode "setup": a hosted VERIFY of amount
	// 0), "" otherwise. Such a session is internal, as an invoice's is.
	PortalSession string
	// OtherXRefs are the gateway transactions of the session's payments
	// other than the one that paid it: a second payment, or one refunded at
	// once because its invoice could not take it. Declined are the
	// transactionUniques of its latest declined attempts (at most
	// MaxDeclinedKept). Both make a result that arrives twice (the browser's
	// copy and the gateway's) count once.
	OtherXRefs []string
	Declined   []string
}

// Internal reports whether the session is one of Calmony Pay's own (an
// invoice's payment or a portal's card replacement), which the API never
// shows and which emits no checkout.session events.
func (cs *CheckoutSession) Internal() bool { return cs.Invoice != "" || cs.PortalSession != "" }

// Setup reports whether the session saves a card rather than taking a
// payment (a portal's card replacement).
func (cs *CheckoutSession) Setup() bool { return cs.Mode == "setup" }

// MaxDeclinedKept bounds CheckoutSession.Declined.
const MaxDeclinedKept = 20

// Seen reports whether the gateway result of xref (approved) or of
// transactionUnique unique (declined) was recorded on the session already.
func (cs *CheckoutSession) Seen(xref, unique string, approved bool) bool {
	if approved {
		return xref != "" && (xref == cs.PaidXRef || slices.Contains(cs.OtherXRefs, xref))
	}
	return unique != "" && slices.Contains(cs.Declined, unique)
}

// NoteDeclined records the declined attempt unique, keeping the latest
// MaxDeclinedKept.
func (cs *CheckoutSession) NoteDeclined(unique string) {
	cs.Declined = append(cs.Declined, unique)
	if n := len(cs.Declined); n > MaxDeclinedKept {
		cs.Declined = slices.Clone(cs.Declined[n-MaxDeclinedKept:])
	}
}
