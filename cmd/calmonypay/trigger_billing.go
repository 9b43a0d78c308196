package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
)

// billingFixtures produce the test clock, invoice item, invoice and
// subscription events, in test mode: invoices of one £10 item, charged to
// Stripe's test card pm_card_visa (or pm_card_chargeCustomerFail, which
// attaches but declines every charge).
func billingFixtures() map[pay.EventType]fixture {
	// clock creates a test clock and, if advance, advances it by an hour
	// and, if wait, polls until it is ready.
	clock := func(advance, wait bool) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, frozen, err := triggerTestClock(ctx, c, say)
			if err != nil || !advance {
				return err
			}
			target := strconv.FormatInt(frozen+3600, 10)
			if err := c.do(ctx, http.MethodPost, "/v1/test_helpers/test_clocks/"+id+"/advance", url.Values{"frozen_time": {target}}, nil); err != nil {
				return err
			}
			say("advancing test clock %s by an hour", id)
			if !wait {
				return nil
			}
			return triggerClockReady(ctx, c, say, id)
		}
	}
	item := func(then func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			cus, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			id, err := triggerInvoiceItem(ctx, c, say, cus)
			if err != nil || then == nil {
				return err
			}
			return then(ctx, c, say, id)
		}
	}
	// invoice makes a draft invoice for a customer paying with card
	// (none: no payment method), finalizes it unless draft, and then
	// takes the step named (pay, void, mark_uncollectible, send).
	invoice := func(card string, draft bool, step string, extra url.Values) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			cus, err := triggerPayer(ctx, c, say, card)
			if err != nil {
				return err
			}
			id, err := triggerInvoice(ctx, c, say, cus, extra)
			if err != nil || draft {
				return err
			}
			if err := c.do(ctx, http.MethodPost, "/v1/invoices/"+id+"/finalize", nil, nil); err != nil {
				return err
			}
			say("finalized invoice %s", id)
			if step == "" {
				return nil
			}
			err = c.do(ctx, http.MethodPost, "/v1/invoices/"+id+"/"+step, nil, nil)
			if step == "pay" && card == "pm_card_chargeCustomerFail" && isAPIError(err, http.StatusPaymentRequired) {
				say("payment of invoice %s declined, as the test card asks", id)
				return nil
			}
			if err != nil {
				return err
			}
			say(map[string]string{"pay": "paid invoice %s", "void": "voided invoice %s",
				"mark_uncollectible": "marked invoice %s uncollectible", "send": "sent invoice %s"}[step], id)
			return nil
		}
	}
	draftThen := func(then func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			cus, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			id, err := triggerInvoice(ctx, c, say, cus, nil)
			if err != nil {
				return err
			}
			return then(ctx, c, say, id)
		}
	}
	subscription := func(then func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, err := triggerSubscription(ctx, c, say)
			if err != nil || then == nil {
				return err
			}
			return then(ctx, c, say, id)
		}
	}
	deleteAt := func(what, path string) func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error {
		return func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error {
			if err := c.do(ctx, http.MethodDelete, path+id, nil, nil); err != nil {
				return err
			}
			say("deleted %s %s", what, id)
			return nil
		}
	}
	updateAt := func(what, path string) func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error {
		return func(ctx context.Context, c *apiClient, say func(string, ...any), id string) error {
			return triggerUpdate(ctx, c, say, what, path, id)
		}
	}
	paid := invoice("pm_card_visa", false, "pay", nil)
	return map[pay.EventType]fixture{
		pay.EventTestClockCreated:   clock(false, false),
		pay.EventTestClockAdvancing: clock(true, false),
		pay.EventTestClockReady:     clock(true, true),
		pay.EventTestClockDeleted: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, _, err := triggerTestClock(ctx, c, say)
			if err != nil {
				return err
			}
			return deleteAt("test clock", "/v1/test_helpers/test_clocks/")(ctx, c, say, id)
		},

		pay.EventInvoiceItemCreated: item(nil),
		pay.EventInvoiceItemUpdated: item(updateAt("invoice item", "/v1/invoiceitems/")),
		pay.EventInvoiceItemDeleted: item(deleteAt("invoice item", "/v1/invoiceitems/")),

		pay.EventInvoiceCreated:             invoice("", true, "", nil),
		pay.EventInvoiceUpdated:             draftThen(updateAt("invoice", "/v1/invoices/")),
		pay.EventInvoiceDeleted:             draftThen(deleteAt("invoice", "/v1/invoices/")),
		pay.EventInvoiceFinalized:           invoice("", false, "", nil),
		pay.EventInvoicePaid:                paid,
		pay.EventInvoicePaymentSucceeded:    paid,
		pay.EventInvoicePaymentFailed:       invoice("pm_card_chargeCustomerFail", false, "pay", nil),
		pay.EventInvoiceVoided:              invoice("", false, "void", nil),
		pay.EventInvoiceMarkedUncollectible: invoice("", false, "mark_uncollectible", nil),
		pay.EventInvoiceSent: invoice("", false, "send",
			url.Values{"collection_method": {"send_invoice"}, "days_until_due": {"30"}}),

		pay.EventCustomerSubscriptionCreated: subscription(nil),
		pay.EventCustomerSubscriptionUpdated: subscription(updateAt("subscription", "/v1/subscriptions/")),
		pay.EventCustomerSubscriptionDeleted: subscription(deleteAt("subscription", "/v1/subscriptions/")),
		pay.EventCustomerSubscriptionResumed: triggerResumed,
		pay.EventCustomerSubscriptionPaused:  triggerResumed,
		// The scheduler's notices: a trial on a test clock, nine days in.
		pay.EventCustomerSubscriptionTrialWillEnd: triggerTrialNotices,
		pay.EventInvoiceUpcoming:                  triggerTrialNotices,
	}
}

// triggerTrialNotices subscribes a customer on a new test clock to a
// ten-day trial and advances the clock nine days, past the scheduler's
// invoice.upcoming (seven days before the trial ends) and
// customer.subscription.trial_will_end (three days before).
func triggerTrialNotices(ctx context.Context, c *apiClient, say func(string, ...any)) error {
	_, price, err := triggerProduct(ctx, c, say, true)
	if err != nil {
		return err
	}
	clock, frozen, err := triggerTestClock(ctx, c, say)
	if err != nil {
		return err
	}
	var cus struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/customers", url.Values{"test_clock": {clock}, "description": {"created by calmonypay trigger"}}, &cus); err != nil {
		return err
	}
	say("created customer %s on test clock %s", cus.ID, clock)
	var sub struct {
		ID string `json:"id"`
	}
	params := url.Values{"customer": {cus.ID}, "items[0][price]": {price}, "trial_period_days": {"10"}}
	if err := c.do(ctx, http.MethodPost, "/v1/subscriptions", params, &sub); err != nil {
		return err
	}
	say("created subscription %s with a ten-day trial", sub.ID)
	target := strconv.FormatInt(frozen+9*86400, 10)
	if err := c.do(ctx, http.MethodPost, "/v1/test_helpers/test_clocks/"+clock+"/advance", url.Values{"frozen_time": {target}}, nil); err != nil {
		return err
	}
	say("advancing test clock %s by nine days", clock)
	return triggerClockReady(ctx, c, say, clock)
}

// triggerTestClock creates a test clock frozen at the present and returns
// its ID and frozen time.
func triggerTestClock(ctx context.Context, c *apiClient, say func(string, ...any)) (string, int64, error) {
	var clk struct {
		ID         string `json:"id"`
		FrozenTime int64  `json:"frozen_time"`
	}
	params := url.Values{"frozen_time": {strconv.FormatInt(time.Now().Unix(), 10)}, "name": {"Triggered clock"}}
	if err := c.do(ctx, http.MethodPost, "/v1/test_helpers/test_clocks", params, &clk); err != nil {
		return "", 0, err
	}
	say("created test clock %s", clk.ID)
	return clk.ID, clk.FrozenTime, nil
}

// triggerClockReady polls the test clock until it is ready again after an
// advance (the server finishes one within about a second).
func triggerClockReady(ctx context.Context, c *apiClient, say func(string, ...any), id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var clk struct {
			Status string `json:"status"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/test_helpers/test_clocks/"+id, nil, &clk); err != nil {
			return err
		}
		if clk.Status == "ready" {
			say("test clock %s is ready", id)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("test clock %s still %s after 30s", id, clk.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// triggerPayer creates a test customer and, unless card is "", attaches
// Stripe's test card with that ID and makes it the customer's default for
// invoices. It returns the customer's ID.
func triggerPayer(ctx context.Context, c *apiClient, say func(string, ...any), card string) (string, error) {
	if card == "" {
		return triggerCustomer(ctx, c, say)
	}
	cus, pm, err := triggerAttached(ctx, c, say, card)
	if err != nil {
		return "", err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/customers/"+cus,
		url.Values{"invoice_settings[default_payment_method]": {pm}}, nil); err != nil {
		return "", err
	}
	say("made %s the default payment method of customer %s", pm, cus)
	return cus, nil
}

// triggerInvoiceItem creates a pending £10 invoice item for the customer
// and returns its ID.
func triggerInvoiceItem(ctx context.Context, c *apiClient, say func(string, ...any), customer string) (string, error) {
	var ii struct {
		ID string `json:"id"`
	}
	params := url.Values{"customer": {customer}, "amount": {"1000"}, "currency": {"gbp"},
		"description": {"created by calmonypay trigger"}}
	if err := c.do(ctx, http.MethodPost, "/v1/invoiceitems", params, &ii); err != nil {
		return "", err
	}
	say("created invoice item %s", ii.ID)
	return ii.ID, nil
}

// triggerInvoice creates a draft invoice holding a new £10 item for the
// customer and returns its ID.
func triggerInvoice(ctx context.Context, c *apiClient, say func(string, ...any), customer string, extra url.Values) (string, error) {
	if _, err := triggerInvoiceItem(ctx, c, say, customer); err != nil {
		return "", err
	}
	var inv struct {
		ID string `json:"id"`
	}
	params := url.Values{"customer": {customer}, "currency": {"gbp"}, "pending_invoice_items_behavior": {"include"},
		"description": {"created by calmonypay trigger"}}
	for k, v := range extra {
		params[k] = v
	}
	if err := c.do(ctx, http.MethodPost, "/v1/invoices", params, &inv); err != nil {
		return "", err
	}
	say("created draft invoice %s", inv.ID)
	return inv.ID, nil
}

// triggerSubscription subscribes a new customer paying with Stripe's test
// card to a new £10-a-month product and returns the subscription's ID.
func triggerSubscription(ctx context.Context, c *apiClient, say func(string, ...any)) (string, error) {
	_, price, err := triggerProduct(ctx, c, say, true)
	if err != nil {
		return "", err
	}
	cus, err := triggerPayer(ctx, c, say, "pm_card_visa")
	if err != nil {
		return "", err
	}
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	params := url.Values{"customer": {cus}, "items[0][price]": {price}, "description": {"created by calmonypay trigger"}}
	if err := c.do(ctx, http.MethodPost, "/v1/subscriptions", params, &sub); err != nil {
		return "", err
	}
	say("created subscription %s (%s)", sub.ID, sub.Status)
	return sub.ID, nil
}

// triggerResumed makes a subscription that the billing scheduler pauses
// (customer.subscription.paused) and resumes it: a customer on a new test clock, with no payment method,
// on a one-day trial whose end pauses it (trial_settings pause); the clock
// is advanced past the trial's end, the customer given Stripe's test card,
// and the paused subscription resumed.
func triggerResumed(ctx context.Context, c *apiClient, say func(string, ...any)) error {
	clock, frozen, err := triggerTestClock(ctx, c, say)
	if err != nil {
		return err
	}
	var cus struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/customers", url.Values{"name": {"Triggered Customer"}, "test_clock": {clock},
		"description": {"created by calmonypay trigger"}}, &cus); err != nil {
		return err
	}
	say("created customer %s on test clock %s", cus.ID, clock)
	_, price, err := triggerProduct(ctx, c, say, true)
	if err != nil {
		return err
	}
	var sub struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	params := url.Values{"customer": {cus.ID}, "items[0][price]": {price}, "trial_period_days": {"1"},
		"trial_settings[end_behavior][missing_payment_method]": {"pause"}, "description": {"created by calmonypay trigger"}}
	if err := c.do(ctx, http.MethodPost, "/v1/subscriptions", params, &sub); err != nil {
		return err
	}
	say("created subscription %s (%s), paused when its trial ends without a payment method", sub.ID, sub.Status)
	target := strconv.FormatInt(frozen+2*86400, 10)
	if err := c.do(ctx, http.MethodPost, "/v1/test_helpers/test_clocks/"+clock+"/advance", url.Values{"frozen_time": {target}}, nil); err != nil {
		return err
	}
	say("advancing test clock %s by two days, past the trial's end", clock)
	if err := triggerClockReady(ctx, c, say, clock); err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodGet, "/v1/subscriptions/"+sub.ID, nil, &sub); err != nil {
		return err
	}
	if sub.Status != "paused" {
		return fmt.Errorf("subscription %s is %s once its trial has ended, not paused: the billing scheduler pauses it", sub.ID, sub.Status)
	}
	say("subscription %s is paused", sub.ID)
	var pm struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus.ID}}, &pm); err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/customers/"+cus.ID,
		url.Values{"invoice_settings[default_payment_method]": {pm.ID}}, nil); err != nil {
		return err
	}
	say("made %s the default payment method of customer %s", pm.ID, cus.ID)
	if err := c.do(ctx, http.MethodPost, "/v1/subscriptions/"+sub.ID+"/resume", nil, &sub); err != nil {
		return err
	}
	say("resumed subscription %s (%s)", sub.ID, sub.Status)
	return nil
}
