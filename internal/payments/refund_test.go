package payments_test

import (
	"context"
	"slices"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestRefunds refunds a charge in steps: a part, then more than is left
// (refused before anything is written or sent), then the rest, then
// again (nothing left).
func TestRefunds(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pi := e.charged(t, e.plain(), intentParams(chargeAmount, e.card(t, visa).ID, ""), payments.ConfirmParams{}, pay.StatusSucceeded)
		chID := pi.LatestCharge
		const part = 500
		steps := []struct {
			name   string
			amount *int64
			code   string // the refusal's code; "" for a refund
			want   int64  // the refund's amount
			left   int64  // what is left to refund after the step
		}{
			{name: "partial", amount: ptr(int64(part)), want: part, left: chargeAmount - part},
			{name: "more than left", amount: ptr(int64(chargeAmount - part + 1)), code: "amount_too_large", left: chargeAmount - part},
			{name: "the rest", want: chargeAmount - part, left: 0},
			{name: "nothing left", code: "charge_already_refunded", left: 0},
		}
		var refunds []string
		for _, s := range steps {
			before := e.gw.called("refund")
			a, err := e.svc.CreateRefund(ctx, e.plain(), payments.RefundParams{PaymentIntent: pi.ID, Amount: s.amount})
			if s.code != "" {
				// Refused in the transaction that would record the refund:
				// returned, not answered, so nothing is written or kept.
				if pe := payError(t, err); pe.Code != s.code {
					t.Errorf("%s: refused with %v, want %s", s.name, pe, s.code)
				}
				if n := e.gw.called("refund"); n != before {
					t.Errorf("%s: a refused refund reached the gateway", s.name)
				}
			} else {
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				re, ok := a.Object.(*pay.Refund)
				if !ok || re.Status != pay.RefundSucceeded || re.Amount != s.want || re.Charge != chID || re.PaymentIntent != pi.ID {
					t.Fatalf("%s: answered %T %+v, want a succeeded refund of %d", s.name, a.Object, a.Object, s.want)
				}
				refunds = append(refunds, re.ID)
			}
			ch := e.charge(t, chID)
			if got := ch.AmountCaptured - ch.AmountRefunded; got != s.left {
				t.Errorf("%s: %d left to refund on the charge, want %d", s.name, got, s.left)
			}
			l, err := e.db.FindRefunds(ctx, e.scope, store.RefundFilter{Charge: chID}, pay.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Data) != len(refunds) {
				t.Errorf("%s: %d refunds stored, want %d", s.name, len(l.Data), len(refunds))
			}
		}
		if n := e.gw.called("refund"); n != 2 {
			t.Errorf("%d refunds sent to the gateway, want 2", n)
		}
		for _, id := range refunds {
			want := []string{"refund.created", "refund.updated"}
			if got := e.events(t, id); !slices.Equal(got, want) {
				t.Errorf("events of %s: %v, want %v", id, got, want)
			}
		}
		if got := e.events(t, chID); !slices.Equal(got, []string{"charge.refunded", "charge.refunded"}) {
			t.Errorf("events of the charge: %v, want charge.refunded twice", got)
		}
	})
}

// TestNonPositiveAmounts: the service itself refuses a refund or capture
// of zero or less, before anything is recorded or sent. A scheduler or the
// CLI calls it with no HTTP layer to check the amount first, and the
// gateway client reads an amount of 0 as "all of it": a refund of 0 voided
// the whole sale at the gateway while the ledger recorded a refund of 0,
// and a capture of 0 captured the whole authorisation while the intent
// recorded 0 received.
func TestNonPositiveAmounts(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pm := e.card(t, visa)
		paid := e.charged(t, e.plain(), intentParams(chargeAmount, pm.ID, ""), payments.ConfirmParams{}, pay.StatusSucceeded)
		held := e.charged(t, e.plain(), intentParams(chargeAmount, pm.ID, "manual"), payments.ConfirmParams{}, pay.StatusRequiresCapture)
		for _, amount := range []int64{0, -100} {
			_, err := e.svc.CreateRefund(ctx, e.plain(), payments.RefundParams{PaymentIntent: paid.ID, Amount: &amount})
			if pe := payError(t, err); pe.Code != "parameter_invalid_integer" || pe.Param != "amount" {
				t.Errorf("refund of %d: %v, want parameter_invalid_integer on amount", amount, pe)
			}
			_, err = e.svc.CapturePaymentIntent(ctx, e.plain(), held.ID, payments.CaptureParams{Amount: &amount})
			if pe := payError(t, err); pe.Code != "parameter_invalid_integer" || pe.Param != "amount_to_capture" {
				t.Errorf("capture of %d: %v, want parameter_invalid_integer on amount_to_capture", amount, pe)
			}
		}
		if n, m := e.gw.called("refund"), e.gw.called("capture"); n != 0 || m != 0 {
			t.Errorf("%d refunds and %d captures reached the gateway, want none", n, m)
		}
		l, err := e.db.FindRefunds(ctx, e.scope, store.RefundFilter{}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 0 {
			t.Errorf("refunds stored: %d %v, want none", len(l.Data), err)
		}
		for _, pi := range []*pay.PaymentIntent{paid, held} {
			ch := e.charge(t, pi.LatestCharge)
			if state, _ := e.sbx.State(ch.XRef); ch.AmountRefunded != 0 || state == cardstream.StateCanceled {
				t.Errorf("charge of %s: amount_refunded %d, gateway state %s", pi.CaptureMethod, ch.AmountRefunded, state)
			}
		}
		if got := e.intent(t, held.ID); got.Status != pay.StatusRequiresCapture || got.AmountCapturable != chargeAmount {
			t.Errorf("authorised intent: %s, amount_capturable %d", got.Status, got.AmountCapturable)
		}
	})
}
