package pay

import (
	"bytes"
	"encoding/json"
	"strings"
)

// This file holds Stripe's object shapes, as the API answers them and events
// carry them (at APIVersion). Field order, nulls and omitempty are part of
// the wire format that stripe-go and stripe-node decode: change them only on
// purpose.

// ListObject is Stripe's list object.
type ListObject struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
	Kind    string `json:"-"` // the items' object type, for expand[] checks
}

// nullString marshals "" as null, as Stripe shows unset strings.
type nullString string

func (s nullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

type addressView struct {
	City       nullString `json:"city"`
	Country    nullString `json:"country"`
	Line1      nullString `json:"line1"`
	Line2      nullString `json:"line2"`
	PostalCode nullString `json:"postal_code"`
	State      nullString `json:"state"`
}

func newAddressView(a *Address) *addressView {
	if a == nil {
		return nil
	}
	return &addressView{City: nullString(a.City), Country: nullString(a.Country), Line1: nullString(a.Line1),
		Line2: nullString(a.Line2), PostalCode: nullString(a.PostalCode), State: nullString(a.State)}
}

type shippingView struct {
	Address *addressView `json:"address"`
	Name    nullString   `json:"name"`
	Phone   nullString   `json:"phone"`
}

type invoiceSettingsView struct {
	CustomFields         any        `json:"custom_fields"`
	DefaultPaymentMethod nullString `json:"default_payment_method"`
	Footer               any        `json:"footer"`
	RenderingOptions     any        `json:"rendering_options"`
}

// customerJSON is the customer object as Stripe's API version 2026-03-25.dahlia shows it.
type customerJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Address             *addressView        `json:"address"`
	Balance             int64               `json:"balance"`
	Created             int64               `json:"created"`
	Currency            any                 `json:"currency"`
	DefaultSource       any                 `json:"default_source"`
	Delinquent          bool                `json:"delinquent"`
	Description         nullString          `json:"description"`
	Discount            any                 `json:"discount"`
	Email               nullString          `json:"email"`
	InvoicePrefix       string              `json:"invoice_prefix"`
	InvoiceSettings     invoiceSettingsView `json:"invoice_settings"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	Name                nullString          `json:"name"`
	NextInvoiceSequence int64               `json:"next_invoice_sequence"`
	Phone               nullString          `json:"phone"`
	PreferredLocales    []string            `json:"preferred_locales"`
	Shipping            *shippingView       `json:"shipping"`
	TaxExempt           string              `json:"tax_exempt"`
	TestClock           any                 `json:"test_clock"`
}

// DeletedObject is Stripe's answer for a deleted object: its ID, its
// object type and deleted: true.
type DeletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// CustomerView renders a customer as the API and its events show it; a
// deleted customer is a DeletedObject.
func CustomerView(c *Customer) any {
	if c.Deleted {
		return DeletedObject{ID: c.ID, Object: "customer", Deleted: true}
	}
	v := customerJSON{
		ID: c.ID, Object: "customer", Address: newAddressView(c.Address), Created: c.Created,
		Description: nullString(c.Description), Email: nullString(c.Email), Livemode: c.Scope.Livemode,
		InvoicePrefix:   c.NumberPrefix(),
		InvoiceSettings: invoiceSettingsView{DefaultPaymentMethod: nullString(c.DefaultPaymentMethod)},
		Metadata:        c.Metadata, Name: nullString(c.Name), NextInvoiceSequence: c.InvoiceSequence + 1, Phone: nullString(c.Phone),
		PreferredLocales: []string{}, TaxExempt: c.TaxExempt,
	}
	if c.TestClock != "" {
		v.TestClock = c.TestClock
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if c.Shipping != nil {
		v.Shipping = &shippingView{Address: newAddressView(&c.Shipping.Address), Name: nullString(c.Shipping.Name), Phone: nullString(c.Shipping.Phone)}
	}
	return v
}

type lastErrorJSON struct {
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	DocURL      string `json:"doc_url,omitempty"`
	Message     string `json:"message"`
	Type        string `json:"type"`
}

type paymentIntentJSON struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	Amount                    int64             `json:"amount"`
	AmountCapturable          int64             `json:"amount_capturable"`
	AmountReceived            int64             `json:"amount_received"`
	Application               any               `json:"application"`
	ApplicationFeeAmount      any               `json:"application_fee_amount"`
	AutomaticPaymentMethods   any               `json:"automatic_payment_methods"`
	CanceledAt                *int64            `json:"canceled_at"`
	CancellationReason        nullString        `json:"cancellation_reason"`
	CaptureMethod             string            `json:"capture_method"`
	ClientSecret              string            `json:"client_secret"`
	ConfirmationMethod        string            `json:"confirmation_method"`
	Created                   int64             `json:"created"`
	Currency                  string            `json:"currency"`
	Customer                  nullString        `json:"customer"`
	Description               nullString        `json:"description"`
	LastPaymentError          *lastErrorJSON    `json:"last_payment_error"`
	LatestCharge              nullString        `json:"latest_charge"`
	Livemode                  bool              `json:"livemode"`
	Metadata                  map[string]string `json:"metadata"`
	NextAction                any               `json:"next_action"`
	OnBehalfOf                any               `json:"on_behalf_of"`
	PaymentMethod             nullString        `json:"payment_method"`
	PaymentMethodOptions      any               `json:"payment_method_options"`
	PaymentMethodTypes        []string          `json:"payment_method_types"`
	Processing                any               `json:"processing"`
	ReceiptEmail              nullString        `json:"receipt_email"`
	Review                    any               `json:"review"`
	SetupFutureUsage          nullString        `json:"setup_future_usage"`
	Shipping                  any               `json:"shipping"`
	StatementDescriptor       nullString        `json:"statement_descriptor"`
	StatementDescriptorSuffix any               `json:"statement_descriptor_suffix"`
	Status                    string            `json:"status"`
	TransferData              any               `json:"transfer_data"`
	TransferGroup             any               `json:"transfer_group"`
}

// PaymentIntentView renders a payment intent as the API and its events show
// it.
func PaymentIntentView(pi *PaymentIntent) any {
	v := paymentIntentJSON{
		ID: pi.ID, Object: "payment_intent", Amount: pi.Amount, AmountCapturable: pi.AmountCapturable, AmountReceived: pi.AmountReceived,
		CancellationReason: nullString(pi.CancellationReason), CaptureMethod: pi.CaptureMethod, ClientSecret: pi.ClientSecret,
		ConfirmationMethod: "automatic", Created: pi.Created, Currency: pi.Currency, Customer: nullString(pi.Customer),
		Description: nullString(pi.Description), LatestCharge: nullString(pi.LatestCharge), Livemode: pi.Scope.Livemode,
		Metadata: nonNil(pi.Metadata), PaymentMethod: nullString(pi.PaymentMethod), PaymentMethodTypes: []string{"card"},
		ReceiptEmail: nullString(pi.ReceiptEmail), SetupFutureUsage: nullString(pi.SetupFutureUsage),
		StatementDescriptor: nullString(pi.StatementDescriptor), Status: pi.Status,
	}
	if pi.CanceledAt != 0 {
		v.CanceledAt = &pi.CanceledAt
	}
	if e := pi.LastError; e != nil {
		v.LastPaymentError = &lastErrorJSON{Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message, Type: e.Type}
	}
	v.PaymentMethodOptions = map[string]any{"card": cardOptionsJSON{RequestThreeDSecure: cmpOr(pi.RequestThreeDS, "automatic")}}
	if a := pi.Action; a != nil && pi.Status == StatusRequiresAction {
		v.NextAction = nextActionView(pi.ID, a)
	}
	return v
}

type cardOptionsJSON struct {
	Installments        any    `json:"installments"`
	MandateOptions      any    `json:"mandate_options"`
	Network             any    `json:"network"`
	RequestThreeDSecure string `json:"request_three_d_secure"`
}

type redirectToURLJSON struct {
	ReturnURL nullString `json:"return_url"`
	URL       string     `json:"url"`
}

type useStripeSDKJSON struct {
	Type     string `json:"type"`
	StripeJS string `json:"stripe_js"`
	Source   string `json:"source"`
}

type nextActionJSON struct {
	Type          string             `json:"type"`
	RedirectToURL *redirectToURLJSON `json:"redirect_to_url,omitempty"`
	UseStripeSDK  *useStripeSDKJSON  `json:"use_stripe_sdk,omitempty"`
}

// nextActionView is a pending 3-D Secure step as Stripe shows it: a
// redirect to the page when the confirmation gave a return_url, else
// use_stripe_sdk's three_d_secure_redirect to the same page (which then ends
// on a page of ours).
func nextActionView(id string, a *ThreeDSAction) nextActionJSON {
	if a.ReturnURL != "" {
		return nextActionJSON{Type: "redirect_to_url", RedirectToURL: &redirectToURLJSON{ReturnURL: nullString(a.ReturnURL), URL: a.Page}}
	}
	return nextActionJSON{Type: "use_stripe_sdk", UseStripeSDK: &useStripeSDKJSON{Type: "three_d_secure_redirect", StripeJS: a.Page, Source: id}}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type threeDSecureJSON struct {
	AuthenticationFlow          nullString `json:"authentication_flow"`
	ElectronicCommerceIndicator nullString `json:"electronic_commerce_indicator"`
	ExemptionIndicator          any        `json:"exemption_indicator"`
	ExemptionIndicatorApplied   bool       `json:"exemption_indicator_applied"`
	Result                      string     `json:"result"`
	ResultReason                nullString `json:"result_reason"`
	TransactionID               nullString `json:"transaction_id"`
	Version                     nullString `json:"version"`
}

func threeDSecureView(r *ThreeDSecureResult) any {
	if r == nil {
		return nil
	}
	return threeDSecureJSON{AuthenticationFlow: nullString(r.AuthenticationFlow), ElectronicCommerceIndicator: nullString(r.ECI),
		Result: r.Result, ResultReason: nullString(r.ResultReason), TransactionID: nullString(r.TransactionID), Version: nullString(r.Version)}
}

type outcomeJSON struct {
	NetworkStatus string     `json:"network_status"`
	Reason        nullString `json:"reason"`
	RiskLevel     string     `json:"risk_level"`
	SellerMessage string     `json:"seller_message"`
	Type          string     `json:"type"`
}

type cardDetailsJSON struct {
	AuthorizationCode nullString     `json:"authorization_code"`
	Brand             string         `json:"brand"`
	Checks            cardChecksJSON `json:"checks"`
	Country           nullString     `json:"country"`
	ExpMonth          int            `json:"exp_month"`
	ExpYear           int            `json:"exp_year"`
	Fingerprint       string         `json:"fingerprint"`
	Funding           string         `json:"funding"`
	Last4             string         `json:"last4"`
	Network           string         `json:"network"`
	ThreeDSecure      any            `json:"three_d_secure"`
	Wallet            any            `json:"wallet"`
}

type chargeJSON struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Amount               int64             `json:"amount"`
	AmountCaptured       int64             `json:"amount_captured"`
	AmountRefunded       int64             `json:"amount_refunded"`
	Application          any               `json:"application"`
	BalanceTransaction   any               `json:"balance_transaction"`
	Captured             bool              `json:"captured"`
	Created              int64             `json:"created"`
	Currency             string            `json:"currency"`
	Customer             nullString        `json:"customer"`
	Description          nullString        `json:"description"`
	Disputed             bool              `json:"disputed"`
	FailureCode          nullString        `json:"failure_code"`
	FailureMessage       nullString        `json:"failure_message"`
	FraudDetails         map[string]string `json:"fraud_details"`
	Livemode             bool              `json:"livemode"`
	Metadata             map[string]string `json:"metadata"`
	Outcome              outcomeJSON       `json:"outcome"`
	Paid                 bool              `json:"paid"`
	PaymentIntent        nullString        `json:"payment_intent"`
	PaymentMethod        nullString        `json:"payment_method"`
	PaymentMethodDetails map[string]any    `json:"payment_method_details"`
	ReceiptURL           any               `json:"receipt_url"`
	Refunded             bool              `json:"refunded"`
	Status               string            `json:"status"`
}

// ChargeView renders a charge as the API and its events show it.
func ChargeView(c *Charge) any {
	v := chargeJSON{
		ID: c.ID, Object: "charge", Amount: c.Amount, AmountCaptured: c.AmountCaptured, AmountRefunded: c.AmountRefunded,
		Captured: c.Captured, Created: c.Created, Currency: c.Currency, Customer: nullString(c.Customer), Description: nullString(c.Description),
		FailureCode: nullString(c.FailureCode), FailureMessage: nullString(c.FailureMessage), FraudDetails: map[string]string{},
		Livemode: c.Scope.Livemode, Metadata: nonNil(c.Metadata), Paid: c.Status == "succeeded", PaymentIntent: nullString(c.PaymentIntent),
		PaymentMethod: nullString(c.PaymentMethod), Status: c.Status,
		Refunded: refundedInFull(c),
		Outcome:  outcomeJSON{NetworkStatus: "approved_by_network", RiskLevel: "normal", SellerMessage: "Payment complete.", Type: "authorized"},
		PaymentMethodDetails: map[string]any{"type": "card", "card": cardDetailsJSON{
			AuthorizationCode: nullString(c.AuthCode), Brand: c.Card.Brand, Country: nullString(c.Card.Country), ExpMonth: c.Card.ExpMonth,
			ExpYear: c.Card.ExpYear, Fingerprint: c.Card.Fingerprint, Funding: c.Card.Funding, Last4: c.Card.Last4, Network: c.Card.Brand,
			Checks: cardChecksJSON{AddressLine1Check: nullString(c.Card.AddressLine1Check), AddressPostalCodeCheck: nullString(c.Card.PostalCheck),
				CVCCheck: nullString(c.Card.CVCCheck)},
			ThreeDSecure: threeDSecureView(c.Card.ThreeDSecure),
		}},
	}
	if c.Status == "failed" {
		v.Outcome = outcomeJSON{NetworkStatus: "declined_by_network", Reason: nullString(c.DeclineCode), RiskLevel: "normal",
			SellerMessage: "The bank did not return any further details with this decline.", Type: "issuer_declined"}
	}
	return v
}

// refundedInFull reports whether nothing is left of the charge: its
// captured amount refunded, or, uncaptured, its authorisation released.
func refundedInFull(c *Charge) bool {
	held := c.AmountCaptured
	if !c.Captured {
		held = c.Amount
	}
	return c.AmountRefunded > 0 && c.AmountRefunded >= held
}

type refundJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction any               `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	FailureReason      nullString        `json:"failure_reason,omitempty"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      nullString        `json:"payment_intent"`
	Reason             nullString        `json:"reason"`
	ReceiptNumber      any               `json:"receipt_number"`
	Status             string            `json:"status"`
}

// RefundView renders a refund as the API and its events show it.
func RefundView(r *Refund) any {
	return refundJSON{ID: r.ID, Object: "refund", Amount: r.Amount, Charge: r.Charge, Created: r.Created, Currency: r.Currency,
		FailureReason: nullString(r.FailureReason), Metadata: nonNil(r.Metadata), PaymentIntent: nullString(r.PaymentIntent),
		Reason: nullString(r.Reason), Status: r.Status}
}

type cardChecksJSON struct {
	AddressLine1Check      nullString `json:"address_line1_check"`
	AddressPostalCodeCheck nullString `json:"address_postal_code_check"`
	CVCCheck               nullString `json:"cvc_check"`
}

type cardJSON struct {
	Brand             string         `json:"brand"`
	Checks            cardChecksJSON `json:"checks"`
	Country           nullString     `json:"country"`
	DisplayBrand      string         `json:"display_brand"`
	ExpMonth          int            `json:"exp_month"`
	ExpYear           int            `json:"exp_year"`
	Fingerprint       string         `json:"fingerprint"`
	Funding           string         `json:"funding"`
	GeneratedFrom     any            `json:"generated_from"`
	Last4             string         `json:"last4"`
	Networks          map[string]any `json:"networks"`
	RegulatedStatus   string         `json:"regulated_status"`
	ThreeDSecureUsage map[string]any `json:"three_d_secure_usage"`
	Wallet            any            `json:"wallet"`
}

func newCardJSON(c CardDetails) cardJSON {
	return cardJSON{
		Brand: c.Brand, Checks: cardChecksJSON{AddressLine1Check: nullString(c.AddressLine1Check), AddressPostalCodeCheck: nullString(c.PostalCheck),
			CVCCheck: nullString(c.CVCCheck)},
		Country: nullString(c.Country), DisplayBrand: c.Brand, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: c.Fingerprint,
		Funding: c.Funding, Last4: c.Last4, Networks: map[string]any{"available": []string{c.Brand}, "preferred": nil},
		RegulatedStatus: "unregulated", ThreeDSecureUsage: map[string]any{"supported": true},
	}
}

type billingJSON struct {
	Address *addressView `json:"address"`
	Email   nullString   `json:"email"`
	Name    nullString   `json:"name"`
	Phone   nullString   `json:"phone"`
	TaxID   any          `json:"tax_id"`
}

type paymentMethodJSON struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	AllowRedisplay string            `json:"allow_redisplay"`
	BillingDetails billingJSON       `json:"billing_details"`
	Card           cardJSON          `json:"card"`
	Created        int64             `json:"created"`
	Customer       nullString        `json:"customer"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Type           string            `json:"type"`
}

// PaymentMethodView renders a payment method as the API and its events show
// it.
func PaymentMethodView(pm *PaymentMethod) any {
	addr := newAddressView(pm.Billing.Address)
	if addr == nil {
		addr = &addressView{}
	}
	return paymentMethodJSON{
		ID: pm.ID, Object: "payment_method", AllowRedisplay: "unspecified",
		BillingDetails: billingJSON{Address: addr, Email: nullString(pm.Billing.Email), Name: nullString(pm.Billing.Name), Phone: nullString(pm.Billing.Phone)},
		Card:           newCardJSON(pm.Card), Created: pm.Created, Customer: nullString(pm.Customer), Livemode: pm.Scope.Livemode,
		Metadata: nonNil(pm.Metadata), Type: pm.Type,
	}
}

// nonNil returns m, or an empty map for nil: Stripe shows metadata as {}.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// LineItemObject is Stripe's item object: one line of a checkout session.
type LineItemObject struct {
	ID             string         `json:"id"`
	Object         string         `json:"object"`
	AmountDiscount int64          `json:"amount_discount"`
	AmountSubtotal int64          `json:"amount_subtotal"`
	AmountTax      int64          `json:"amount_tax"`
	AmountTotal    int64          `json:"amount_total"`
	Currency       string         `json:"currency"`
	Description    string         `json:"description"`
	Price          map[string]any `json:"price"`
	Quantity       int64          `json:"quantity"`
}

// LineItemView renders one of cs's line items, with the one-time price it
// stands for.
func LineItemView(cs *CheckoutSession, li LineItem) LineItemObject {
	tail := strings.TrimPrefix(li.ID, PrefixLineItem)
	return LineItemObject{ID: li.ID, Object: "item", AmountSubtotal: li.Total(), AmountTotal: li.Total(), Currency: cs.Currency,
		Description: li.Name, Quantity: li.Quantity,
		Price: map[string]any{"id": "price_" + tail, "object": "price", "active": false, "billing_scheme": "per_unit", "created": cs.Created,
			"currency": cs.Currency, "livemode": cs.Scope.Livemode, "metadata": map[string]string{}, "product": "prod_" + tail,
			"type": "one_time", "unit_amount": li.UnitAmount, "recurring": nil, "nickname": nil, "lookup_key": nil}}
}

// LineItemList renders all of cs's line items as one list.
func LineItemList(cs *CheckoutSession) ListObject {
	l := ListObject{Object: "list", Data: []any{}, URL: "/v1/checkout/sessions/" + cs.ID + "/line_items", Kind: "item"}
	for _, li := range cs.LineItems {
		l.Data = append(l.Data, LineItemView(cs, li))
	}
	return l
}

// CheckoutSessionObject is Stripe's checkout.session object. LineItems is
// set only when expand[] asks for it.
type CheckoutSessionObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	AmountSubtotal     int64             `json:"amount_subtotal"`
	AmountTotal        int64             `json:"amount_total"`
	CancelURL          nullString        `json:"cancel_url"`
	ClientReferenceID  nullString        `json:"client_reference_id"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           nullString        `json:"customer"`
	CustomerDetails    map[string]any    `json:"customer_details"`
	CustomerEmail      nullString        `json:"customer_email"`
	ExpiresAt          int64             `json:"expires_at"`
	LineItems          *ListObject       `json:"line_items,omitempty"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Mode               string            `json:"mode"`
	PaidAfterExpiry    bool              `json:"paid_after_expiry"`
	PaymentIntent      nullString        `json:"payment_intent"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	PaymentStatus      string            `json:"payment_status"`
	Status             string            `json:"status"`
	SuccessURL         nullString        `json:"success_url"`
	TotalDetails       map[string]int64  `json:"total_details"`
	UIMode             string            `json:"ui_mode"`
	URL                nullString        `json:"url"`
}

// CheckoutSessionView renders a session; url is the hosted page under
// publicURL, shown while the session is open.
func CheckoutSessionView(cs *CheckoutSession, publicURL string) CheckoutSessionObject {
	v := CheckoutSessionObject{ID: cs.ID, Object: "checkout.session", AmountSubtotal: cs.AmountTotal, AmountTotal: cs.AmountTotal,
		CancelURL: nullString(cs.CancelURL), ClientReferenceID: nullString(cs.ClientReferenceID), Created: cs.Created, Currency: cs.Currency,
		Customer: nullString(cs.Customer), CustomerEmail: nullString(cs.CustomerEmail), ExpiresAt: cs.ExpiresAt, Livemode: cs.Scope.Livemode,
		Metadata: nonNil(cs.Metadata), Mode: cs.Mode, PaidAfterExpiry: cs.PaidAfterExpiry, PaymentIntent: nullString(cs.PaymentIntent),
		PaymentMethodTypes: []string{"card"}, PaymentStatus: cs.PaymentStatus, Status: cs.Status, SuccessURL: nullString(cs.SuccessURL),
		TotalDetails: map[string]int64{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}, UIMode: "hosted"}
	if cs.Status == CheckoutOpen {
		v.URL = nullString(publicURL + "/checkout/" + cs.ID)
	}
	if cs.CustomerEmail != "" {
		v.CustomerDetails = map[string]any{"email": cs.CustomerEmail, "name": nil, "phone": nil, "address": nil, "tax_exempt": "none", "tax_ids": []any{}}
	}
	return v
}

// WebhookEndpointObject is Stripe's webhook_endpoint object. Two fields are
// Calmony Pay's own: disabled_reason (null, "manual" or
// "delivery_failures") and failing_since (when the current run of failed
// deliveries began, or null).
type WebhookEndpointObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	APIVersion     nullString        `json:"api_version"`
	Application    any               `json:"application"`
	Created        int64             `json:"created"`
	Description    nullString        `json:"description"`
	DisabledReason nullString        `json:"disabled_reason"`
	EnabledEvents  []string          `json:"enabled_events"`
	FailingSince   *int64            `json:"failing_since"`
	Livemode       bool              `json:"livemode"`
	Metadata       map[string]string `json:"metadata"`
	Secret         string            `json:"secret,omitempty"` // on create and roll only
	Status         string            `json:"status"`
	URL            string            `json:"url"`
}

// WebhookEndpointView renders a webhook endpoint, without its secret.
func WebhookEndpointView(ep *WebhookEndpoint) WebhookEndpointObject {
	v := WebhookEndpointObject{ID: ep.ID, Object: "webhook_endpoint", APIVersion: nullString(ep.APIVersion), Created: ep.Created,
		Description: nullString(ep.Description), DisabledReason: nullString(ep.DisabledReason), EnabledEvents: ep.EnabledEvents,
		Livemode: ep.Scope.Livemode, Metadata: ep.Metadata, Status: ep.Status, URL: ep.URL}
	if ep.FailingSince != 0 {
		v.FailingSince = &ep.FailingSince
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if v.EnabledEvents == nil {
		v.EnabledEvents = []string{}
	}
	return v
}

// deliveryAttemptJSON is one delivery attempt of an event to an endpoint,
// Calmony Pay's own object (Stripe shows these only in its dashboard).
type deliveryAttemptJSON struct {
	ID              string     `json:"id"`
	Object          string     `json:"object"`
	Attempt         int        `json:"attempt"`
	Created         int64      `json:"created"`
	DurationMS      int64      `json:"duration_ms"`
	Error           nullString `json:"error"`
	Event           string     `json:"event"`
	Livemode        bool       `json:"livemode"`
	NextRetry       *int64     `json:"next_retry"`
	ResponseBody    nullString `json:"response_body"`
	ResponseStatus  *int       `json:"response_status"`
	Status          string     `json:"status"` // succeeded or failed
	URL             string     `json:"url"`
	WebhookEndpoint string     `json:"webhook_endpoint"`
}

// DeliveryAttemptView renders a delivery attempt.
func DeliveryAttemptView(a *DeliveryAttempt) any {
	v := deliveryAttemptJSON{ID: a.ID, Object: "webhook_delivery_attempt", Attempt: a.Attempt, Created: a.Created,
		DurationMS: a.DurationMS, Error: nullString(a.Error), Event: a.EventID, Livemode: a.Scope.Livemode,
		ResponseBody: nullString(a.ResponseBody), Status: "failed", URL: a.URL, WebhookEndpoint: a.EndpointID}
	if a.Succeeded {
		v.Status = "succeeded"
	}
	if a.StatusCode != 0 {
		v.ResponseStatus = &a.StatusCode
	}
	if a.NextRetry != 0 {
		v.NextRetry = &a.NextRetry
	}
	return v
}

// View renders a domain object as its Stripe object (checkout sessions
// with their URL on publicURL); anything else, a view already, is returned
// as it is.
func View(obj any, publicURL string) any {
	switch o := obj.(type) {
	case *Customer:
		return CustomerView(o)
	case *PaymentMethod:
		return PaymentMethodView(o)
	case *PaymentIntent:
		return PaymentIntentView(o)
	case *SetupIntent:
		return SetupIntentView(o)
	case *Charge:
		return ChargeView(o)
	case *Refund:
		return RefundView(o)
	case *CheckoutSession:
		return CheckoutSessionView(o, publicURL)
	case *WebhookEndpoint:
		return WebhookEndpointView(o)
	case *Event:
		return o.View()
	case *TaxRate:
		return TaxRateView(o)
	case *TestClock:
		return TestClockView(o)
	case *Product:
		return ProductView(o)
	case *Price:
		return PriceView(o)
	case *Invoice:
		return InvoiceView(o, publicURL)
	case *InvoiceItem:
		return InvoiceItemView(o)
	case *Subscription:
		return SubscriptionView(o)
	case *SubscriptionItem:
		return ItemView(o)
	case *PortalConfiguration:
		return PortalConfigurationView(o)
	case *PortalSession:
		return PortalSessionView(o, publicURL)
	}
	return obj
}

// ToMap turns a view into its JSON object as a map, numbers kept exact.
func ToMap(obj any) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	return m, d.Decode(&m)
}
