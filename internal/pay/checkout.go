package pay

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
}
