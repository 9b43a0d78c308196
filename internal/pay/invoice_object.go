package pay

import "strconv"

// This file holds the Stripe object shapes of invoices, their lines and
// invoice items at APIVersion (2025 and later: no paid, payment_intent,
// charge or subscription fields; parent, payments, total_taxes); see
// object.go for the conventions.

// InvoicePagePath is where an invoice's hosted page is: InvoicePagePath +
// its token; its PDF is that plus "/pdf".
const InvoicePagePath = "/invoices/"

// InvoicePageURL and InvoicePDFURL are an invoice's shopper-facing
// addresses on publicURL, "" before it is finalised.
func InvoicePageURL(inv *Invoice, publicURL string) string {
	if inv.Token == "" {
		return ""
	}
	return publicURL + InvoicePagePath + inv.Token
}

// InvoicePDFURL: see InvoicePageURL.
func InvoicePDFURL(inv *Invoice, publicURL string) string {
	if inv.Token == "" {
		return ""
	}
	return publicURL + InvoicePagePath + inv.Token + "/pdf"
}

type periodJSON struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

type priceDetailsJSON struct {
	Price   string `json:"price"`
	Product string `json:"product"`
}

type pricingJSON struct {
	PriceDetails      *priceDetailsJSON `json:"price_details,omitempty"`
	Type              string            `json:"type"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

func newPricing(price, product string, unit int64) *pricingJSON {
	p := &pricingJSON{Type: "price_details", UnitAmountDecimal: strconv.FormatInt(unit, 10)}
	if price != "" {
		p.PriceDetails = &priceDetailsJSON{Price: price, Product: product}
	}
	return p
}

type invoiceItemJSON struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	Amount          int64             `json:"amount"`
	Currency        string            `json:"currency"`
	Customer        string            `json:"customer"`
	CustomerAccount any               `json:"customer_account"`
	Date            int64             `json:"date"`
	Description     nullString        `json:"description"`
	Discountable    bool              `json:"discountable"`
	Discounts       []string          `json:"discounts"`
	Invoice         nullString        `json:"invoice"`
	Livemode        bool              `json:"livemode"`
	Metadata        map[string]string `json:"metadata"`
	NetAmount       int64             `json:"net_amount"`
	Parent          any               `json:"parent"`
	Period          periodJSON        `json:"period"`
	Pricing         *pricingJSON      `json:"pricing"`
	Proration       bool              `json:"proration"`
	Quantity        int64             `json:"quantity"`
	QuantityDecimal string            `json:"quantity_decimal"`
	TaxRates        []any             `json:"tax_rates"`
	TestClock       nullString        `json:"test_clock"`
}

// InvoiceItemView renders an invoice item; a deleted one is a
// DeletedObject.
func InvoiceItemView(ii *InvoiceItem) any {
	if ii.Deleted {
		return DeletedObject{ID: ii.ID, Object: "invoiceitem", Deleted: true}
	}
	v := invoiceItemJSON{ID: ii.ID, Object: "invoiceitem", Amount: ii.Amount, Currency: ii.Currency, Customer: ii.Customer,
		Date: ii.Created, Description: nullString(ii.Description), Discountable: true, Discounts: []string{},
		Invoice: nullString(ii.Invoice), Livemode: ii.Scope.Livemode, Metadata: nonNil(ii.Metadata), NetAmount: ii.Amount,
		Period: periodJSON{End: ii.PeriodEnd, Start: ii.PeriodStart}, Pricing: newPricing(ii.Price, ii.Product, ii.UnitAmount),
		Proration: ii.Proration, Quantity: ii.Quantity, QuantityDecimal: strconv.FormatInt(ii.Quantity, 10), TaxRates: taxRateViews(ii.TaxRates),
		TestClock: nullString(ii.TestClock)}
	if ii.Subscription != "" {
		v.Parent = invoiceItemParentJSON{Type: "subscription_details",
			SubscriptionDetails: &invoiceItemSubscriptionJSON{Subscription: ii.Subscription, SubscriptionItem: ii.SubscriptionItem}}
	}
	return v
}

type invoiceItemSubscriptionJSON struct {
	Subscription     string `json:"subscription"`
	SubscriptionItem string `json:"subscription_item,omitempty"`
}

type invoiceItemParentJSON struct {
	SubscriptionDetails *invoiceItemSubscriptionJSON `json:"subscription_details"`
	Type                string                       `json:"type"`
}

func taxRateViews(rates []*TaxRate) []any {
	out := make([]any, 0, len(rates))
	for _, r := range rates {
		out = append(out, TaxRateView(r))
	}
	return out
}

type taxRateDetailsJSON struct {
	TaxRate string `json:"tax_rate"`
}

type lineTaxJSON struct {
	Amount           int64              `json:"amount"`
	TaxBehavior      string             `json:"tax_behavior"`
	TaxRateDetails   taxRateDetailsJSON `json:"tax_rate_details"`
	TaxabilityReason string             `json:"taxability_reason"`
	TaxableAmount    int64              `json:"taxable_amount"`
	Type             string             `json:"type"`
}

func newLineTax(t LineTax) lineTaxJSON {
	b := "exclusive"
	if t.Inclusive {
		b = "inclusive"
	}
	reason := "standard_rated"
	if t.Percentage == 0 {
		reason = "zero_rated"
	}
	return lineTaxJSON{Amount: t.Amount, TaxBehavior: b, TaxRateDetails: taxRateDetailsJSON{TaxRate: t.TaxRate},
		TaxabilityReason: reason, TaxableAmount: t.TaxableAmount, Type: "tax_rate_details"}
}

type prorationDetailsJSON struct {
	CreditedItems any `json:"credited_items"`
}

type invoiceItemDetailsJSON struct {
	InvoiceItem      string               `json:"invoice_item"`
	Proration        bool                 `json:"proration"`
	ProrationDetails prorationDetailsJSON `json:"proration_details"`
	Subscription     any                  `json:"subscription"`
}

type subscriptionItemDetailsJSON struct {
	InvoiceItem      any                  `json:"invoice_item"`
	Proration        bool                 `json:"proration"`
	ProrationDetails prorationDetailsJSON `json:"proration_details"`
	Subscription     string               `json:"subscription"`
	SubscriptionItem string               `json:"subscription_item"`
}

type lineParentJSON struct {
	InvoiceItemDetails      *invoiceItemDetailsJSON `json:"invoice_item_details"`
	SubscriptionItemDetails any                     `json:"subscription_item_details"`
	Type                    string                  `json:"type"`
}

type invoiceLineJSON struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Amount              int64             `json:"amount"`
	Currency            string            `json:"currency"`
	Description         nullString        `json:"description"`
	DiscountAmounts     []any             `json:"discount_amounts"`
	Discountable        bool              `json:"discountable"`
	Discounts           []string          `json:"discounts"`
	Invoice             string            `json:"invoice"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Parent              lineParentJSON    `json:"parent"`
	Period              periodJSON        `json:"period"`
	PretaxCreditAmounts []any             `json:"pretax_credit_amounts"`
	Pricing             *pricingJSON      `json:"pricing"`
	Quantity            int64             `json:"quantity"`
	QuantityDecimal     string            `json:"quantity_decimal"`
	Subscription        any               `json:"subscription"`
	Subtotal            int64             `json:"subtotal"`
	Taxes               []lineTaxJSON     `json:"taxes"`
}

// InvoiceLineView renders one line of inv.
func InvoiceLineView(inv *Invoice, l InvoiceLine) any {
	v := invoiceLineJSON{ID: l.ID, Object: "line_item", Amount: l.Amount, Currency: inv.Currency, Description: nullString(l.Description),
		DiscountAmounts: []any{}, Discountable: true, Discounts: []string{}, Invoice: inv.ID, Livemode: inv.Scope.Livemode,
		Metadata: nonNil(l.Metadata), Period: periodJSON{End: l.PeriodEnd, Start: l.PeriodStart}, PretaxCreditAmounts: []any{},
		Pricing: newPricing(l.Price, l.Product, l.UnitAmount), Quantity: l.Quantity, QuantityDecimal: strconv.FormatInt(l.Quantity, 10),
		Subtotal: l.Amount, Taxes: make([]lineTaxJSON, 0, len(l.Taxes))}
	if l.SubscriptionItem != "" {
		// A subscription's own line, or a proration of one of its items
		// (an invoice item, named).
		v.Parent = lineParentJSON{Type: "subscription_item_details", SubscriptionItemDetails: subscriptionItemDetailsJSON{
			InvoiceItem: nullString(l.InvoiceItem), Proration: l.Proration, ProrationDetails: prorationDetailsJSON{CreditedItems: nil},
			Subscription: inv.Subscription, SubscriptionItem: l.SubscriptionItem}}
	} else {
		v.Parent = lineParentJSON{Type: "invoice_item_details",
			InvoiceItemDetails: &invoiceItemDetailsJSON{InvoiceItem: l.InvoiceItem, Proration: l.Proration, Subscription: nullString(inv.Subscription)}}
	}
	v.Subscription = nullString(inv.Subscription)
	for _, t := range l.Taxes {
		v.Taxes = append(v.Taxes, newLineTax(t))
	}
	return v
}

// InvoiceLineList is an invoice's lines as a list object: the first limit
// lines after the line startingAfter ("" from the first).
func InvoiceLineList(inv *Invoice, startingAfter string, limit int) ListObject {
	l := ListObject{Object: "list", Data: []any{}, URL: "/v1/invoices/" + inv.ID + "/lines", Kind: "line_item"}
	start := 0
	if startingAfter != "" {
		for i, line := range inv.Lines {
			if line.ID == startingAfter {
				start = i + 1
			}
		}
	}
	for i := start; i < len(inv.Lines); i++ {
		if len(l.Data) == limit {
			l.HasMore = true
			break
		}
		l.Data = append(l.Data, InvoiceLineView(inv, inv.Lines[i]))
	}
	return l
}

type statusTransitionsJSON struct {
	FinalizedAt           *int64 `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

type automaticTaxJSON struct {
	DisabledReason any  `json:"disabled_reason"`
	Enabled        bool `json:"enabled"`
	Liability      any  `json:"liability"`
	Provider       any  `json:"provider"`
	Status         any  `json:"status"`
}

type issuerJSON struct {
	Type string `json:"type"`
}

type paymentSettingsJSON struct {
	DefaultMandate       any `json:"default_mandate"`
	PaymentMethodOptions any `json:"payment_method_options"`
	PaymentMethodTypes   any `json:"payment_method_types"`
}

type totalTaxJSON = lineTaxJSON

type invoicePaymentPaymentJSON struct {
	PaymentIntent string `json:"payment_intent,omitempty"`
	Type          string `json:"type"`
}

type invoicePaymentTransitionsJSON struct {
	CanceledAt *int64 `json:"canceled_at"`
	PaidAt     *int64 `json:"paid_at"`
}

type invoicePaymentJSON struct {
	ID                string                        `json:"id"`
	Object            string                        `json:"object"`
	AmountPaid        *int64                        `json:"amount_paid"`
	AmountRequested   int64                         `json:"amount_requested"`
	Created           int64                         `json:"created"`
	Currency          string                        `json:"currency"`
	Invoice           string                        `json:"invoice"`
	IsDefault         bool                          `json:"is_default"`
	Livemode          bool                          `json:"livemode"`
	Payment           invoicePaymentPaymentJSON     `json:"payment"`
	Status            string                        `json:"status"`
	StatusTransitions invoicePaymentTransitionsJSON `json:"status_transitions"`
}

type invoiceJSON struct {
	ID                           string                `json:"id"`
	Object                       string                `json:"object"`
	AccountCountry               nullString            `json:"account_country"`
	AccountName                  nullString            `json:"account_name"`
	AccountTaxIDs                any                   `json:"account_tax_ids"`
	AmountDue                    int64                 `json:"amount_due"`
	AmountOverpaid               int64                 `json:"amount_overpaid"`
	AmountPaid                   int64                 `json:"amount_paid"`
	AmountRemaining              int64                 `json:"amount_remaining"`
	AmountShipping               int64                 `json:"amount_shipping"`
	Application                  any                   `json:"application"`
	AttemptCount                 int64                 `json:"attempt_count"`
	Attempted                    bool                  `json:"attempted"`
	AutoAdvance                  bool                  `json:"auto_advance"`
	AutomaticTax                 automaticTaxJSON      `json:"automatic_tax"`
	AutomaticallyFinalizesAt     any                   `json:"automatically_finalizes_at"`
	BillingReason                string                `json:"billing_reason"`
	CollectionMethod             string                `json:"collection_method"`
	ConfirmationSecret           any                   `json:"confirmation_secret"`
	Created                      int64                 `json:"created"`
	Currency                     string                `json:"currency"`
	CustomFields                 any                   `json:"custom_fields"`
	Customer                     string                `json:"customer"`
	CustomerAccount              any                   `json:"customer_account"`
	CustomerAddress              *addressView          `json:"customer_address"`
	CustomerEmail                nullString            `json:"customer_email"`
	CustomerName                 nullString            `json:"customer_name"`
	CustomerPhone                any                   `json:"customer_phone"`
	CustomerShipping             any                   `json:"customer_shipping"`
	CustomerTaxExempt            any                   `json:"customer_tax_exempt"`
	CustomerTaxIDs               []any                 `json:"customer_tax_ids"`
	DefaultPaymentMethod         nullString            `json:"default_payment_method"`
	DefaultSource                any                   `json:"default_source"`
	DefaultTaxRates              []any                 `json:"default_tax_rates"`
	Description                  nullString            `json:"description"`
	Discounts                    []string              `json:"discounts"`
	DueDate                      *int64                `json:"due_date"`
	EffectiveAt                  *int64                `json:"effective_at"`
	EndingBalance                *int64                `json:"ending_balance"`
	Footer                       nullString            `json:"footer"`
	FromInvoice                  any                   `json:"from_invoice"`
	HostedInvoiceURL             nullString            `json:"hosted_invoice_url"`
	InvoicePDF                   nullString            `json:"invoice_pdf"`
	Issuer                       issuerJSON            `json:"issuer"`
	LastFinalizationError        any                   `json:"last_finalization_error"`
	LatestRevision               any                   `json:"latest_revision"`
	Lines                        ListObject            `json:"lines"`
	Livemode                     bool                  `json:"livemode"`
	Metadata                     map[string]string     `json:"metadata"`
	NextPaymentAttempt           any                   `json:"next_payment_attempt"`
	Number                       nullString            `json:"number"`
	OnBehalfOf                   any                   `json:"on_behalf_of"`
	Parent                       any                   `json:"parent"`
	PaymentSettings              paymentSettingsJSON   `json:"payment_settings"`
	Payments                     ListObject            `json:"payments"`
	PeriodEnd                    int64                 `json:"period_end"`
	PeriodStart                  int64                 `json:"period_start"`
	PostPaymentCreditNotesAmount int64                 `json:"post_payment_credit_notes_amount"`
	PrePaymentCreditNotesAmount  int64                 `json:"pre_payment_credit_notes_amount"`
	ReceiptNumber                any                   `json:"receipt_number"`
	Rendering                    any                   `json:"rendering"`
	ShippingCost                 any                   `json:"shipping_cost"`
	ShippingDetails              any                   `json:"shipping_details"`
	StartingBalance              int64                 `json:"starting_balance"`
	StatementDescriptor          any                   `json:"statement_descriptor"`
	Status                       string                `json:"status"`
	StatusTransitions            statusTransitionsJSON `json:"status_transitions"`
	Subtotal                     int64                 `json:"subtotal"`
	SubtotalExcludingTax         int64                 `json:"subtotal_excluding_tax"`
	TestClock                    nullString            `json:"test_clock"`
	Total                        int64                 `json:"total"`
	TotalDiscountAmounts         []any                 `json:"total_discount_amounts"`
	TotalExcludingTax            int64                 `json:"total_excluding_tax"`
	TotalPretaxCreditAmounts     []any                 `json:"total_pretax_credit_amounts"`
	TotalTaxes                   []totalTaxJSON        `json:"total_taxes"`
	WebhooksDeliveredAt          *int64                `json:"webhooks_delivered_at"`
}

func optTime(t int64) *int64 {
	if t == 0 {
		return nil
	}
	return &t
}

// InvoiceLinesShown is how many lines an invoice object embeds; the rest
// are read from its lines list.
const InvoiceLinesShown = 10

// TotalTaxes sums the invoice's line taxes per rate, in the order the
// rates first appear.
func (inv *Invoice) TotalTaxes() []LineTax {
	var out []LineTax
	index := map[string]int{}
	for _, l := range inv.Lines {
		for _, t := range l.Taxes {
			i, ok := index[t.TaxRate]
			if !ok {
				i = len(out)
				index[t.TaxRate] = i
				out = append(out, LineTax{TaxRate: t.TaxRate, DisplayName: t.DisplayName, Percentage: t.Percentage, Inclusive: t.Inclusive})
			}
			out[i].Amount += t.Amount
			out[i].TaxableAmount += t.TaxableAmount
		}
	}
	return out
}

// InclusiveTax is the tax contained in the invoice's line amounts.
func (inv *Invoice) InclusiveTax() int64 {
	var n int64
	for _, l := range inv.Lines {
		for _, t := range l.Taxes {
			if t.Inclusive {
				n += t.Amount
			}
		}
	}
	return n
}

// InvoiceView renders an invoice with its hosted page and PDF on
// publicURL; a deleted draft is a DeletedObject (see DeletedInvoice).
func InvoiceView(inv *Invoice, publicURL string) any {
	v := invoiceJSON{
		ID: inv.ID, Object: "invoice", AccountCountry: nullString(inv.AccountCountry), AccountName: nullString(inv.AccountName),
		AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid, AmountRemaining: inv.AmountRemaining, AttemptCount: inv.AttemptCount,
		Attempted: inv.Attempted, AutoAdvance: inv.AutoAdvance, BillingReason: "manual", CollectionMethod: inv.CollectionMethod,
		Created: inv.Created, Currency: inv.Currency, Customer: inv.Customer, CustomerAddress: newAddressView(inv.CustomerAddress),
		CustomerEmail: nullString(inv.CustomerEmail), CustomerName: nullString(inv.CustomerName), CustomerTaxIDs: []any{},
		DefaultPaymentMethod: nullString(inv.DefaultPaymentMethod), DefaultTaxRates: taxRateViews(inv.DefaultTaxRates),
		Description: nullString(inv.Description), Discounts: []string{}, DueDate: optTime(inv.DueDate),
		EffectiveAt: optTime(inv.FinalizedAt), Footer: nullString(inv.Footer),
		HostedInvoiceURL: nullString(InvoicePageURL(inv, publicURL)), InvoicePDF: nullString(InvoicePDFURL(inv, publicURL)),
		Issuer: issuerJSON{Type: "self"}, Lines: InvoiceLineList(inv, "", InvoiceLinesShown), Livemode: inv.Scope.Livemode,
		Metadata: nonNil(inv.Metadata), Number: nullString(inv.Number), PeriodEnd: inv.PeriodEnd, PeriodStart: inv.PeriodStart,
		Payments: ListObject{Object: "list", Data: []any{}, URL: "/v1/invoice_payments?invoice=" + inv.ID, Kind: "invoice_payment"},
		Status:   inv.Status,
		StatusTransitions: statusTransitionsJSON{FinalizedAt: optTime(inv.FinalizedAt), MarkedUncollectibleAt: optTime(inv.MarkedUncollectibleAt),
			PaidAt: optTime(inv.PaidAt), VoidedAt: optTime(inv.VoidedAt)},
		Subtotal: inv.Subtotal, SubtotalExcludingTax: inv.Subtotal - inv.InclusiveTax(), TestClock: nullString(inv.TestClock),
		Total: inv.Total, TotalDiscountAmounts: []any{}, TotalExcludingTax: inv.Total - inv.Tax, TotalPretaxCreditAmounts: []any{},
		TotalTaxes: []totalTaxJSON{},
	}
	if inv.BillingReason != "" {
		v.BillingReason = inv.BillingReason
	}
	if inv.Subscription != "" {
		v.Parent = map[string]any{"type": "subscription_details", "quote_details": nil,
			"subscription_details": map[string]any{"metadata": map[string]string{}, "subscription": inv.Subscription}}
	}
	if inv.Status != InvoiceStatusDraft {
		var zero int64
		v.EndingBalance = &zero
		v.WebhooksDeliveredAt = optTime(inv.FinalizedAt)
	}
	switch {
	case inv.Status == InvoiceStatusDraft && inv.AutoAdvance:
		v.AutomaticallyFinalizesAt = inv.Created + FinalizeDelay
		if inv.CollectionMethod == CollectCharge {
			v.NextPaymentAttempt = inv.Created + FinalizeDelay
		}
	case inv.Payable() && inv.NextPaymentAttempt != 0:
		v.NextPaymentAttempt = inv.NextPaymentAttempt
	}
	for _, t := range inv.TotalTaxes() {
		v.TotalTaxes = append(v.TotalTaxes, newLineTax(t))
	}
	for i, p := range inv.Payments {
		v.Payments.Data = append(v.Payments.Data, InvoicePaymentView(inv, p, i == 0))
	}
	return v
}

// InvoicePaymentView renders one of inv's payments.
func InvoicePaymentView(inv *Invoice, p InvoicePayment, isDefault bool) any {
	v := invoicePaymentJSON{ID: p.ID, Object: "invoice_payment", AmountRequested: p.AmountRequested, Created: p.Created,
		Currency: inv.Currency, Invoice: inv.ID, IsDefault: isDefault, Livemode: inv.Scope.Livemode, Status: p.Status,
		StatusTransitions: invoicePaymentTransitionsJSON{CanceledAt: optTime(p.CanceledAt), PaidAt: optTime(p.PaidAt)}}
	if p.Status == "paid" {
		v.AmountPaid = &p.AmountPaid
	}
	if p.PaymentIntent != "" {
		v.Payment = invoicePaymentPaymentJSON{PaymentIntent: p.PaymentIntent, Type: "payment_intent"}
	} else {
		v.Payment = invoicePaymentPaymentJSON{Type: "out_of_band_payment"}
	}
	return v
}
