package pay

import (
	"cmp"
	"strconv"
)

// This file holds the Stripe object shapes of subscriptions and their
// items at APIVersion (2025 and later: current_period_start/end are on the
// items; billing_mode); see object.go for the conventions.

type subscriptionItemJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	BillingThresholds  any               `json:"billing_thresholds"`
	Created            int64             `json:"created"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	Discounts          []string          `json:"discounts"`
	Metadata           map[string]string `json:"metadata"`
	Plan               any               `json:"plan"`
	Price              any               `json:"price"`
	Quantity           int64             `json:"quantity"`
	Subscription       string            `json:"subscription"`
	TaxRates           []any             `json:"tax_rates"`
}

type planJSON struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	Active          bool              `json:"active"`
	Amount          int64             `json:"amount"`
	AmountDecimal   string            `json:"amount_decimal"`
	BillingScheme   string            `json:"billing_scheme"`
	Created         int64             `json:"created"`
	Currency        string            `json:"currency"`
	Interval        string            `json:"interval"`
	IntervalCount   int64             `json:"interval_count"`
	Livemode        bool              `json:"livemode"`
	Metadata        map[string]string `json:"metadata"`
	Meter           any               `json:"meter"`
	Nickname        nullString        `json:"nickname"`
	Product         string            `json:"product"`
	TiersMode       any               `json:"tiers_mode"`
	TransformUsage  any               `json:"transform_usage"`
	TrialPeriodDays *int64            `json:"trial_period_days"`
	UsageType       string            `json:"usage_type"`
}

// planView renders a recurring price as the legacy plan object Stripe
// still shows on subscription items; nil for a one-time price.
func planView(p *Price) any {
	if p.Recurring == nil {
		return nil
	}
	v := planJSON{ID: p.ID, Object: "plan", Active: p.Active, Amount: p.UnitAmount, AmountDecimal: strconv.FormatInt(p.UnitAmount, 10),
		BillingScheme: "per_unit", Created: p.Created, Currency: p.Currency, Interval: p.Recurring.Interval,
		IntervalCount: p.Recurring.IntervalCount, Livemode: p.Scope.Livemode, Metadata: nonNil(p.Metadata), Nickname: nullString(p.Nickname),
		Product: p.Product, UsageType: "licensed"}
	if p.Recurring.TrialPeriodDays != 0 {
		v.TrialPeriodDays = &p.Recurring.TrialPeriodDays
	}
	return v
}

// SubscriptionItemView renders an item of s.
func SubscriptionItemView(s *Subscription, it *SubscriptionItem) any {
	return subscriptionItemJSON{ID: it.ID, Object: "subscription_item", Created: it.Created, CurrentPeriodEnd: s.CurrentPeriodEnd,
		CurrentPeriodStart: s.CurrentPeriodStart, Discounts: []string{}, Metadata: nonNil(it.Metadata), Plan: planView(it.Price), Price: PriceView(it.Price),
		Quantity: it.Quantity, Subscription: s.ID, TaxRates: taxRateViews(it.TaxRates)}
}

// ItemView renders a subscription item on its own, with the period copied
// onto it; a deleted one is a DeletedObject.
func ItemView(it *SubscriptionItem) any {
	if it.Deleted {
		return DeletedObject{ID: it.ID, Object: "subscription_item", Deleted: true}
	}
	return SubscriptionItemView(&Subscription{ID: it.Subscription, CurrentPeriodStart: it.CurrentPeriodStart,
		CurrentPeriodEnd: it.CurrentPeriodEnd}, it)
}

type billingModeJSON struct {
	Flexible any    `json:"flexible"`
	Type     string `json:"type"`
}

type subscriptionAutomaticTaxJSON struct {
	DisabledReason any  `json:"disabled_reason"`
	Enabled        bool `json:"enabled"`
	Liability      any  `json:"liability"`
}

type cancellationDetailsJSON struct {
	Comment  any `json:"comment"`
	Feedback any `json:"feedback"`
	Reason   any `json:"reason"`
}

type subscriptionInvoiceSettingsJSON struct {
	AccountTaxIDs any        `json:"account_tax_ids"`
	Issuer        issuerJSON `json:"issuer"`
}

type subscriptionPaymentSettingsJSON struct {
	PaymentMethodOptions     any    `json:"payment_method_options"`
	PaymentMethodTypes       any    `json:"payment_method_types"`
	SaveDefaultPaymentMethod string `json:"save_default_payment_method"`
}

type trialSettingsJSON struct {
	EndBehavior struct {
		MissingPaymentMethod string `json:"missing_payment_method"`
	} `json:"end_behavior"`
}

type subscriptionJSON struct {
	ID                            string                          `json:"id"`
	Object                        string                          `json:"object"`
	Application                   any                             `json:"application"`
	ApplicationFeePercent         any                             `json:"application_fee_percent"`
	AutomaticTax                  subscriptionAutomaticTaxJSON    `json:"automatic_tax"`
	BillingCycleAnchor            int64                           `json:"billing_cycle_anchor"`
	BillingCycleAnchorConfig      any                             `json:"billing_cycle_anchor_config"`
	BillingMode                   billingModeJSON                 `json:"billing_mode"`
	BillingThresholds             any                             `json:"billing_thresholds"`
	CancelAt                      *int64                          `json:"cancel_at"`
	CancelAtPeriodEnd             bool                            `json:"cancel_at_period_end"`
	CanceledAt                    *int64                          `json:"canceled_at"`
	CancellationDetails           cancellationDetailsJSON         `json:"cancellation_details"`
	CollectionMethod              string                          `json:"collection_method"`
	Created                       int64                           `json:"created"`
	Currency                      string                          `json:"currency"`
	Customer                      string                          `json:"customer"`
	CustomerAccount               any                             `json:"customer_account"`
	DaysUntilDue                  *int64                          `json:"days_until_due"`
	DefaultPaymentMethod          nullString                      `json:"default_payment_method"`
	DefaultSource                 any                             `json:"default_source"`
	DefaultTaxRates               []any                           `json:"default_tax_rates"`
	Description                   nullString                      `json:"description"`
	Discounts                     []string                        `json:"discounts"`
	EndedAt                       *int64                          `json:"ended_at"`
	InvoiceSettings               subscriptionInvoiceSettingsJSON `json:"invoice_settings"`
	Items                         ListObject                      `json:"items"`
	LatestInvoice                 nullString                      `json:"latest_invoice"`
	Livemode                      bool                            `json:"livemode"`
	Metadata                      map[string]string               `json:"metadata"`
	NextPendingInvoiceItemInvoice any                             `json:"next_pending_invoice_item_invoice"`
	OnBehalfOf                    any                             `json:"on_behalf_of"`
	PauseCollection               any                             `json:"pause_collection"`
	PaymentSettings               subscriptionPaymentSettingsJSON `json:"payment_settings"`
	PendingInvoiceItemInterval    any                             `json:"pending_invoice_item_interval"`
	PendingSetupIntent            any                             `json:"pending_setup_intent"`
	PendingUpdate                 any                             `json:"pending_update"`
	Schedule                      any                             `json:"schedule"`
	StartDate                     int64                           `json:"start_date"`
	Status                        string                          `json:"status"`
	TestClock                     nullString                      `json:"test_clock"`
	TransferData                  any                             `json:"transfer_data"`
	TrialEnd                      *int64                          `json:"trial_end"`
	TrialSettings                 trialSettingsJSON               `json:"trial_settings"`
	TrialStart                    *int64                          `json:"trial_start"`
}

// SubscriptionView renders a subscription with its items (every item:
// a subscription has at most MaxSubscriptionItems).
func SubscriptionView(s *Subscription) any {
	v := subscriptionJSON{ID: s.ID, Object: "subscription", BillingCycleAnchor: s.BillingCycleAnchor,
		BillingMode: billingModeJSON{Type: "classic"}, CancelAt: optTime(s.CancelAt), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		CanceledAt: optTime(s.CanceledAt), CollectionMethod: s.CollectionMethod, Created: s.Created, Currency: s.Currency,
		Customer: s.Customer, DefaultPaymentMethod: nullString(s.DefaultPaymentMethod), DefaultTaxRates: taxRateViews(s.DefaultTaxRates),
		Description: nullString(s.Description), Discounts: []string{}, EndedAt: optTime(s.EndedAt),
		InvoiceSettings: subscriptionInvoiceSettingsJSON{AccountTaxIDs: nil, Issuer: issuerJSON{Type: "self"}},
		Items:           ListObject{Object: "list", Data: []any{}, URL: "/v1/subscription_items?subscription=" + s.ID, Kind: "subscription_item"},
		LatestInvoice:   nullString(s.LatestInvoice), Livemode: s.Scope.Livemode, Metadata: nonNil(s.Metadata),
		PaymentSettings: subscriptionPaymentSettingsJSON{SaveDefaultPaymentMethod: "off"},
		StartDate:       s.StartDate, Status: s.Status, TestClock: nullString(s.TestClock), TrialEnd: optTime(s.TrialEnd),
		TrialStart: optTime(s.TrialStart)}
	if s.CollectionMethod == CollectSend {
		v.DaysUntilDue = &s.DaysUntilDue
	}
	v.TrialSettings.EndBehavior.MissingPaymentMethod = cmp.Or(s.TrialMissingPaymentMethod, TrialEndCreateInvoice)
	if pc := s.PauseCollection; pc != nil {
		v.PauseCollection = map[string]any{"behavior": pc.Behavior, "resumes_at": optTime(pc.ResumesAt)}
	}
	v.CancellationDetails.Reason = nullString(s.CancellationReason)
	v.CancellationDetails.Comment = nullString(s.CancellationComment)
	v.CancellationDetails.Feedback = nullString(s.CancellationFeedback)
	for _, it := range s.Items {
		v.Items.Data = append(v.Items.Data, SubscriptionItemView(s, it))
	}
	return v
}
