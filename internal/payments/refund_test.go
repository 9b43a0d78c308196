package payments_test

import (
	"context"
	"slices"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// TestRefunds refunds a charge in steps: a part, then more than is left
// (refused before anything is written or sent), then the rest, then
// again (nothing left).
func TestRefunds(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, postgres bool) {
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
