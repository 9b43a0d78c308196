package payments

import (
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
)

// Every Stripe test card and its stand-in are valid cards, each number and
// test ID appears once, and a test ID names its card.
func TestTestCardTable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	numbers, ids := map[string]bool{}, map[string]bool{}
	for _, c := range testCards {
		tc, ok := FindTestCard(CardInput{Number: c.number})
		if !ok || tc.c.number != c.number || numbers[c.number] {
			t.Errorf("%s: FindTestCard = %v, %v (seen before: %v)", c.number, tc, ok, numbers[c.number])
		}
		numbers[c.number] = true
		for _, in := range []CardInput{{Number: c.number, ExpMonth: 1, ExpYear: int64(now.Year() + 1), CVC: "123"}, tc.StandIn(now)} {
			if Brand(in.Number) == "amex" && len(in.CVC) == 3 {
				in.CVC = "1234"
			}
			if err := in.Validate(now); err != nil {
				t.Errorf("%s: %v", in, err)
			}
		}
		if c.paymentMethod == "" {
			continue
		}
		in, ok := TestPaymentMethodCard(c.paymentMethod, now)
		if !ok || in.Number != c.number || ids[c.paymentMethod] || !IsTestPaymentMethodID(c.paymentMethod) {
			t.Errorf("%s: TestPaymentMethodCard = %v, %v (seen before: %v)", c.paymentMethod, in, ok, ids[c.paymentMethod])
		}
		ids[c.paymentMethod] = true
	}
	for _, id := range []string{"", "pm_card_", "pm_card_unknown", "pm_123"} {
		if IsTestPaymentMethodID(id) {
			t.Errorf("IsTestPaymentMethodID(%q)", id)
		}
	}
}

// A sale of a decline test card is changed so the gateway declines it, or
// declined here, with Stripe's codes.
func TestDeclineTestSale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		decline, code string
		sent          bool
	}{
		{"", "", true},
		{"incorrect_cvc", "incorrect_cvc", true},
		{"expired_card", "expired_card", true},
		{"generic_decline", "card_declined", false},
		{"insufficient_funds", "card_declined", false},
		{"lost_card", "card_declined", false},
		{"stolen_card", "card_declined", false},
		{"processing_error", "processing_error", false},
	} {
		req := cardstream.SaleRequest{Amount: 1000, XRef: "x"}
		res := DeclineTestSale(tt.decline, &req)
		if (res == nil) != tt.sent {
			t.Errorf("%q: answered here %v, want sent to the gateway: %v", tt.decline, res, tt.sent)
			continue
		}
		switch tt.decline {
		case "incorrect_cvc":
			if req.CVV == "" || req.Checks.CV2 != cardstream.StrictCV2CheckPref {
				t.Errorf("incorrect_cvc: request %+v presents no wrong security code", req)
			}
		case "expired_card":
			if req.Extra.Get("cardExpiryYear") != "20" {
				t.Errorf("expired_card: request %+v has no past expiry", req)
			}
		}
		if res == nil {
			continue
		}
		if e := DeclineError(res); res.Approved() || e.Code != tt.code || e.DeclineCode != tt.decline || e.Status != 402 {
			t.Errorf("%q: %+v, want 402 %s %s", tt.decline, e, tt.code, tt.decline)
		}
	}
}
