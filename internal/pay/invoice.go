package pay

// Invoice statuses, as Stripe names them.
const (
	InvoiceStatusDraft         = "draft"
	InvoiceStatusOpen          = "open"
	InvoiceStatusPaid          = "paid"
	InvoiceStatusUncollectible = "uncollectible"
	InvoiceStatusVoid          = "void"
)

// Invoice is a bill to a customer: what a UK VAT invoice shows and what
// Stripe's invoice object carries. Amounts are integer minor units of
// Currency. Times are unix seconds, 0 when not (yet) set.
//
// The customer's name, email and address are copied onto the invoice when
// it is finalised, as Stripe does (customer_name, customer_email,
// customer_address), so that a later change to the customer does not
// rewrite an issued invoice.
type Invoice struct {
	ID       string
	Scope    Scope
	Number   string // set when finalised, unique in the project
	Status   string // InvoiceStatusDraft, …
	Currency string // lowercase ISO 4217
	Created  int64

	FinalizedAt int64 // the date of issue
	PaidAt      int64
	VoidedAt    int64
	DueDate     int64 // 0: none (collected automatically)

	// PeriodStart and PeriodEnd are the supply period the invoice covers
	// (for a subscription, the period just billed); the tax point.
	PeriodStart int64
	PeriodEnd   int64

	Customer        string // the customer's ID
	CustomerName    string
	CustomerEmail   string
	CustomerAddress *Address

	Description string // a memo printed above the lines
	Footer      string // printed at the end, for example payment terms

	Lines []InvoiceLine

	// Subtotal is the sum of the lines' amounts: before exclusive tax, with
	// inclusive tax in it.
	Subtotal int64
	// Tax is the total tax of every line, inclusive and exclusive.
	Tax int64
	// Total is Subtotal plus exclusive tax.
	Total           int64
	AmountPaid      int64
	AmountDue       int64 // Total less what was paid before (credit balance); what is asked for
	AmountRemaining int64 // AmountDue less AmountPaid

	Metadata map[string]string
	// CollectionMethod is CollectCharge or CollectSend.
	CollectionMethod     string
	AutoAdvance          bool
	DefaultPaymentMethod string // "" for none
	// DefaultTaxRates apply to the lines that have no tax rates of their own.
	DefaultTaxRates       []*TaxRate
	MarkedUncollectibleAt int64
	// AttemptCount is how many payment attempts have had an outcome;
	// PayAttempt, when not 0, is the number of the attempt in flight
	// (recorded before its charge, so that a retry reuses its key).
	AttemptCount int64
	Attempted    bool
	PayAttempt   int64
	// NextPaymentAttempt is when the billing scheduler next tries to
	// charge the invoice (0: never), and DunningDone how many failed
	// attempts it has acted on (set the next retry or the final action
	// for); an attempt beyond it is the scheduler's work.
	NextPaymentAttempt int64 `json:",omitempty"`
	DunningDone        int64 `json:",omitempty"`
	// Overdue: the scheduler has acted on a send_invoice invoice's due date
	// passing (its subscription is past due).
	Overdue bool `json:",omitempty"`
	// PayResumeAt and PayResumeDelay: when the scheduler next resumes a
	// card attempt whose outcome it found still unknown (a gateway
	// operation parked for an operator, say), and the delay before that,
	// doubled each time up to a day.
	PayResumeAt    int64 `json:",omitempty"`
	PayResumeDelay int64 `json:",omitempty"`
	// ConfirmationIntent is the payment intent the customer confirms to pay
	// the invoice (a default_incomplete subscription's first invoice), and
	// ConfirmationSecret its client secret (confirmation_secret), sealed at
	// rest with the customer's details.
	ConfirmationIntent string `json:",omitempty"`
	ConfirmationSecret string `json:"-"`
	// LastFailure is the decline code (else the error code) of the latest
	// failed payment attempt: the scheduler stops retrying on a hard one.
	LastFailure string `json:",omitempty"`
	// Token makes the unguessable hosted page and PDF addresses; set at
	// finalisation.
	Token string
	// AccountName and AccountCountry are the merchant's business name and
	// country, copied at finalisation.
	AccountName    string
	AccountCountry string
	TestClock      string
	Payments       []InvoicePayment
	// Subscription is the subscription the invoice bills, "" for none, and
	// BillingReason why it was made (Stripe's billing_reason; "" is
	// manual).
	Subscription  string `json:",omitempty"`
	BillingReason string `json:",omitempty"`
}

// FinalizeDelay is how long after its creation the billing scheduler
// finalises a draft with auto_advance (Stripe: about an hour), leaving
// time to add items to a renewal invoice (invoice.created).
const FinalizeDelay = 3600

// PaymentResumeDelay is how long after a card payment attempt began the
// scheduler resumes it when it has no outcome yet (a crash, or a gateway
// answer still unknown), and MaxPaymentResumeDelay the longest it waits
// between resumptions of one that stays unknown.
const (
	PaymentResumeDelay    = 600
	MaxPaymentResumeDelay = 86400
)

// NextActionAt is when the billing scheduler next has work on the invoice,
// 0 for never: finalising an auto-advancing draft, resuming a card attempt
// without an outcome, acting on a failed attempt (the next retry or the
// final action), the next retry, or a send_invoice subscription invoice's
// due date.
func (inv *Invoice) NextActionAt() int64 {
	switch {
	case inv.Status == InvoiceStatusDraft:
		if inv.AutoAdvance {
			return inv.Created + FinalizeDelay
		}
	case !inv.Payable():
	case inv.CollectionMethod == CollectCharge && inv.AutoAdvance:
		switch last := inv.LastPaymentAt(); {
		case inv.PayAttempt != 0:
			return max(last+PaymentResumeDelay, inv.PayResumeAt)
		case inv.AttemptCount > inv.DunningDone:
			return max(last, inv.FinalizedAt, 1)
		case inv.NextPaymentAttempt != 0:
			return inv.NextPaymentAttempt
		}
	case inv.CollectionMethod == CollectSend && inv.Status == InvoiceStatusOpen && inv.Subscription != "" && !inv.Overdue && inv.DueDate != 0:
		return inv.DueDate
	}
	return 0
}

// LastPaymentAt is when the invoice's latest payment attempt began, 0 if
// it has none.
func (inv *Invoice) LastPaymentAt() int64 {
	if len(inv.Payments) == 0 {
		return 0
	}
	return inv.Payments[len(inv.Payments)-1].Created
}

// Billing reasons of subscription invoices.
const (
	BillingReasonSubscriptionCreate = "subscription_create"
	BillingReasonSubscriptionCycle  = "subscription_cycle"
	BillingReasonSubscriptionUpdate = "subscription_update"
	BillingReasonUpcoming           = "upcoming"
)

// Collection methods an invoice may have.
const (
	CollectCharge = "charge_automatically"
	CollectSend   = "send_invoice"
)

// PrefixInvoice, PrefixInvoiceItem, PrefixInvoiceLine and
// PrefixInvoicePayment are the ID prefixes Stripe uses.
const (
	PrefixInvoice        = "in_"
	PrefixInvoiceItem    = "ii_"
	PrefixInvoiceLine    = "il_"
	PrefixInvoicePayment = "inpay_"
)

// InvoicePayment is one payment attempt towards an invoice: a payment
// intent, or nothing (paid out of band).
type InvoicePayment struct {
	ID              string `json:"id"`
	PaymentIntent   string `json:"payment_intent,omitempty"`
	PaymentMethod   string `json:"payment_method,omitempty"` // what the attempt charges
	AmountRequested int64  `json:"amount_requested"`
	AmountPaid      int64  `json:"amount_paid"`
	Status          string `json:"status"` // open, paid or canceled
	Created         int64  `json:"created"`
	PaidAt          int64  `json:"paid_at,omitempty"`
	CanceledAt      int64  `json:"canceled_at,omitempty"`
}

// Editable reports whether the invoice's lines and terms may still change.
func (inv *Invoice) Editable() bool { return inv.Status == InvoiceStatusDraft }

// Payable reports whether the invoice may be paid.
func (inv *Invoice) Payable() bool {
	return inv.Status == InvoiceStatusOpen || inv.Status == InvoiceStatusUncollectible
}

// PayableOnline reports whether the invoice's customer may start paying
// it on its hosted page: it is payable, something is left to pay, and no
// card charge of it is in flight (PayAttempt).
func (inv *Invoice) PayableOnline() bool {
	return inv.Payable() && inv.AmountRemaining > 0 && inv.PayAttempt == 0
}

// InvoiceItem is a charge waiting to be invoiced (Invoice "") or on an
// invoice. Amount is Quantity × UnitAmount.
type InvoiceItem struct {
	ID      string
	Scope   Scope
	Created int64 // Stripe's date

	Customer    string
	Invoice     string // "" while pending
	Price       string // "" for an amount without a price
	Product     string
	Currency    string
	UnitAmount  int64
	Quantity    int64
	Amount      int64
	Description string
	PeriodStart int64
	PeriodEnd   int64
	TaxRates    []*TaxRate
	Metadata    map[string]string
	LineID      string // the ID of its line on an invoice
	TestClock   string
	Deleted     bool
	// Subscription and SubscriptionItem are what a subscription's item
	// (a proration) bills, "" for a one-off item; Proration marks the
	// credits and debits of a subscription change.
	Subscription     string
	SubscriptionItem string
	Proration        bool
}

// TaxRateIDs returns the IDs of rates.
func TaxRateIDs(rates []*TaxRate) []string {
	ids := make([]string, len(rates))
	for i, r := range rates {
		ids[i] = r.ID
	}
	return ids
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	ID          string
	Description string
	Quantity    int64
	UnitAmount  int64
	// Amount is the line's amount before exclusive tax (inclusive tax is
	// in it): Quantity × UnitAmount, or the prorated amount for a proration
	// (negative for a credit).
	Amount      int64
	PeriodStart int64 // 0: no period (a one-off item)
	PeriodEnd   int64
	Proration   bool
	Taxes       []LineTax
	// InvoiceItem, Price and Product name what the line bills.
	InvoiceItem string            `json:",omitempty"`
	Price       string            `json:",omitempty"`
	Product     string            `json:",omitempty"`
	Metadata    map[string]string `json:",omitempty"`
	// SubscriptionItem is the subscription item a subscription line bills:
	// such lines are fixed when the invoice is made, not read from items.
	SubscriptionItem string `json:",omitempty"`
}

// LineTax is one tax on an invoice line.
type LineTax struct {
	TaxRate     string // the tax rate's ID
	DisplayName string // for example "VAT"
	// Percentage is the rate, exactly (pay.Percent: 20 % is 20 × PercentUnit).
	Percentage Percent
	Inclusive  bool  // the line's amount includes this tax
	Amount     int64 // the tax, in minor units
	// TaxableAmount is the part of the line's amount the tax is computed
	// on, excluding the tax itself.
	TaxableAmount int64
}

// Percent formats the rate: "20%", "17.5%", "0%".
func (t LineTax) Percent() string { return t.Percentage.String() + "%" }
