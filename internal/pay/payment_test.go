package pay

import "testing"

// TestPaymentIntentStateRules: which status allows which action, as
// Stripe's payment intents do.
func TestPaymentIntentStateRules(t *testing.T) {
	type allows struct{ confirm, capture, edit, refund bool }
	for status, want := range map[string]allows{
		StatusRequiresPaymentMethod: {confirm: true, edit: true},
		StatusRequiresConfirmation:  {confirm: true, edit: true},
		StatusRequiresAction:        {confirm: true},
		StatusProcessing:            {},
		StatusRequiresCapture:       {capture: true},
		StatusSucceeded:             {refund: true},
		StatusCanceled:              {},
	} {
		pi := &PaymentIntent{Status: status}
		if got := (allows{pi.Confirmable(), pi.Capturable(), pi.Editable(), pi.Refundable()}); got != want {
			t.Errorf("%s allows %+v, want %+v", status, got, want)
		}
	}
	e := (&PaymentIntent{Status: StatusProcessing}).UnexpectedState("confirm")
	if e.Status != 400 || e.Code != "payment_intent_unexpected_state" || e.Message != "You cannot confirm this PaymentIntent because it has a status of processing." {
		t.Errorf("UnexpectedState = %+v", e)
	}
	for _, c := range []struct {
		ch   Charge
		want bool
	}{{Charge{Captured: true, Status: "succeeded"}, true}, {Charge{Status: "succeeded"}, false}, {Charge{Captured: true, Status: "failed"}, false}} {
		if got := c.ch.Refundable(); got != c.want {
			t.Errorf("charge %+v refundable = %v", c.ch, got)
		}
	}
}
