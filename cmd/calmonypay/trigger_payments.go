package main

import (
	"context"
	"net/http"
	"net/url"
)

// paymentFixtures produce the payment events, in test mode, on Cardstream's
// test account: the simulator decides by amount (1000 approves, 10000 is
// declined).
func paymentFixtures() map[string]fixture {
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
			cus, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			var pm struct {
				ID string `json:"id"`
			}
			if err := c.do(ctx, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}, &pm); err != nil {
				return err
			}
			say("attached payment method %s to customer %s", pm.ID, cus)
			if !detach {
				return nil
			}
			if err := c.do(ctx, http.MethodPost, "/v1/payment_methods/"+pm.ID+"/detach", nil, nil); err != nil {
				return err
			}
			say("detached payment method %s", pm.ID)
			return nil
		}
	}
	return map[string]fixture{
		"payment_intent.created":                   intent("1000", url.Values{"confirm": {"false"}}),
		"payment_intent.succeeded":                 intent("1000", nil),
		"payment_intent.failed":                    intent("10000", nil),
		"payment_intent.payment_failed":            intent("10000", nil),
		"payment_intent.amount_capturable_updated": intent("1000", url.Values{"capture_method": {"manual"}}),
		"payment_intent.canceled": func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
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
		"charge.refunded":          refund,
		"refund.created":           refund,
		"refund.updated":           refund,
		"payment_method.attached":  attach(false),
		"payment_method.detached":  attach(true),
		"checkout.session.expired": triggerExpiredCheckout,
	}
}

// triggerIntent creates (and unless told otherwise confirms) a payment
// intent on Stripe's test card ID; a decline is the expected outcome for
// the declining amounts, not a failure of the fixture.
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
