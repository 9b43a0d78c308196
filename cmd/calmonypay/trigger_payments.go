package main

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
)

// paymentFixtures produce the payment events, in test mode, on Cardstream's
// test account: the simulator decides by amount (1000 approves, 10000 is
// declined).
func paymentFixtures() map[pay.EventType]fixture {
	intent := func(amount string, extra url.Values) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, err := triggerIntent(ctx, c, say, amount, extra)
			return err
		}
	}
	refund := func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
		pi, err := triggerIntent(ctx, c, say, "1000", nil)
		if err != nil {
			return err
		}
		var re struct {
			ID string `json:"id"`
		}
		if err := c.do(ctx, http.MethodPost, "/v1/refunds", url.Values{"payment_intent": {pi}}, &re); err != nil {
			return err
		}
		say("refunded payment intent %s with refund %s", pi, re.ID)
		return nil
	}
	attach := func(detach bool) fixture {
		return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, pm, err := triggerAttached(ctx, c, say, "pm_card_visa")
			if err != nil || !detach {
				return err
			}
			if err := c.do(ctx, http.MethodPost, "/v1/payment_methods/"+pm+"/detach", nil, nil); err != nil {
				return err
			}
			say("detached payment method %s", pm)
			return nil
		}
	}
	return map[pay.EventType]fixture{
		pay.EventPaymentIntentCreated:                 intent("1000", url.Values{"confirm": {"false"}}),
		pay.EventPaymentIntentSucceeded:               intent("1000", nil),
		pay.EventPaymentIntentFailed:                  intent("10000", nil),
		pay.EventPaymentIntentPaymentFailed:           intent("10000", nil),
		pay.EventPaymentIntentAmountCapturableUpdated: intent("1000", url.Values{"capture_method": {"manual"}}),
		// Stripe's 3-D Secure test card: the payment waits for the customer.
		pay.EventPaymentIntentRequiresAction: intent("1000", url.Values{"payment_method": {"pm_card_threeDSecure2Required"}}),
		pay.EventSetupIntentCreated:          setup(url.Values{"confirm": {"false"}}, false),
		pay.EventSetupIntentSucceeded:        setup(url.Values{"payment_method": {"pm_card_visa"}}, false),
		pay.EventSetupIntentRequiresAction:   setup(url.Values{"payment_method": {"pm_card_authenticationRequired"}}, false),
		pay.EventSetupIntentSetupFailed:      setup(url.Values{"payment_method": {"pm_card_chargeDeclined"}}, false),
		pay.EventSetupIntentCanceled:         setup(url.Values{"confirm": {"false"}}, true),
		pay.EventPaymentIntentCanceled: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			pi, err := triggerIntent(ctx, c, say, "1000", url.Values{"capture_method": {"manual"}})
			if err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodPost, "/v1/payment_intents/"+pi+"/cancel", nil, nil); err != nil {
				return err
			}
			say("canceled payment intent %s", pi)
			return nil
		},
		pay.EventPaymentIntentUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			pi, err := triggerIntent(ctx, c, say, "1000", url.Values{"confirm": {"false"}})
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "payment intent", "/v1/payment_intents/", pi)
		},
		pay.EventChargeUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			pi, err := triggerIntent(ctx, c, say, "1000", nil)
			if err != nil {
				return err
			}
			var got struct {
				LatestCharge string `json:"latest_charge"`
			}
			if err := c.do(ctx, http.MethodGet, "/v1/payment_intents/"+pi, nil, &got); err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "charge", "/v1/charges/", got.LatestCharge)
		},
		pay.EventPaymentMethodUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, pm, err := triggerAttached(ctx, c, say, "pm_card_visa")
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "payment method", "/v1/payment_methods/", pm)
		},
		pay.EventChargeRefunded:         refund,
		pay.EventRefundCreated:          refund,
		pay.EventRefundUpdated:          refund,
		pay.EventPaymentMethodAttached:  attach(false),
		pay.EventPaymentMethodDetached:  attach(true),
		pay.EventCheckoutSessionExpired: triggerExpiredCheckout,
	}
}

// triggerAttached attaches one of Stripe's test cards (pm_card_visa) to a
// new test customer and returns the customer's and the payment method's IDs.
func triggerAttached(ctx context.Context, c *apiClient, say func(string, ...any), card string) (customer, paymentMethod string, err error) {
	cus, err := triggerCustomer(ctx, c, say)
	if err != nil {
		return "", "", err
	}
	var pm struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/payment_methods/"+card+"/attach", url.Values{"customer": {cus}}, &pm); err != nil {
		return "", "", err
	}
	say("attached payment method %s to customer %s", pm.ID, cus)
	return cus, pm.ID, nil
}

// triggerUpdate sets a metadata key on the object at path+id.
func triggerUpdate(ctx context.Context, c *apiClient, say func(string, ...any), what, path, id string) error {
	params := url.Values{"metadata[triggered_at]": {time.Now().UTC().Format(time.RFC3339Nano)}}
	if err := c.do(ctx, http.MethodPost, path+id, params, nil); err != nil {
		return err
	}
	say("updated %s %s", what, id)
	return nil
}

// triggerIntent creates (and unless told otherwise confirms) a payment
// intent on Stripe's test card ID; a decline is the expected outcome for
// the declining amounts, not a failure of the fixture.
// setup makes a setup intent (confirmed, unless extra says otherwise)
// and, with cancel, cancels it.
func setup(extra url.Values, cancel bool) fixture {
	return func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
		params := url.Values{"confirm": {"true"}, "description": {"created by calmonypay trigger"}}
		for k, v := range extra {
			params[k] = v
		}
		var si struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		err := c.do(ctx, http.MethodPost, "/v1/setup_intents", params, &si)
		if isAPIError(err, http.StatusPaymentRequired) {
			say("setup of %s declined, as the test card asks", extra.Get("payment_method"))
			return nil
		}
		if err != nil {
			return err
		}
		say("created setup intent %s (%s)", si.ID, si.Status)
		if !cancel {
			return nil
		}
		if err := c.do(ctx, http.MethodPost, "/v1/setup_intents/"+si.ID+"/cancel", nil, nil); err != nil {
			return err
		}
		say("canceled setup intent %s", si.ID)
		return nil
	}
}

func triggerIntent(ctx context.Context, c *apiClient, say func(string, ...any), amount string, extra url.Values) (string, error) {
	params := url.Values{"amount": {amount}, "currency": {"gbp"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"},
		"description": {"created by calmonypay trigger"}}
	for k, v := range extra {
		params[k] = v
	}
	var pi struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/payment_intents", params, &pi)
	if isAPIError(err, http.StatusPaymentRequired) {
		say("payment of %s declined, as the test amount asks", amount)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	say("created payment intent %s (%s)", pi.ID, pi.Status)
	return pi.ID, nil
}

func triggerExpiredCheckout(ctx context.Context, c *apiClient, say func(string, ...any)) error {
	var cs struct {
		ID string `json:"id"`
	}
	params := url.Values{"mode": {"payment"}, "success_url": {"https://example.com/success"}, "cancel_url": {"https://example.com/cancel"},
		"line_items[0][price_data][currency]": {"gbp"}, "line_items[0][price_data][unit_amount]": {"1000"},
		"line_items[0][price_data][product_data][name]": {"Triggered item"}, "line_items[0][quantity]": {"1"}}
	if err := c.do(ctx, http.MethodPost, "/v1/checkout/sessions", params, &cs); err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/checkout/sessions/"+cs.ID+"/expire", nil, nil); err != nil {
		return err
	}
	say("created and expired checkout session %s", cs.ID)
	return nil
}
