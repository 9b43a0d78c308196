package payments_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// crashOnce crashes the first operation that reaches point, as a process
// dying there would.
func crashOnce(point string) func(string) bool {
	var done atomic.Bool
	return func(p string) bool { return p == point && done.CompareAndSwap(false, true) }
}

// onlyIntent returns the env's only payment intent, as stored.
func (e *env) onlyIntent(t *testing.T) *pay.PaymentIntent {
	t.Helper()
	l, err := e.db.FindPaymentIntents(context.Background(), e.scope, store.PaymentIntentFilter{}, pay.Page{Limit: 10})
	if err != nil || len(l.Data) != 1 {
		t.Fatalf("payment intents: %d %v, want 1", len(l.Data), err)
	}
	return l.Data[0]
}

// ops returns the gateway ops in state.
func (e *env) ops(t *testing.T, state string) []*pay.GatewayOp {
	t.Helper()
	ops, err := e.db.FindGatewayOps(context.Background(), state, 10)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// reconcile runs one round of the reconciler.
func (e *env) reconcile(t *testing.T) {
	t.Helper()
	if err := e.svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileSettlesLostSale: a sale whose outcome the call never
// recorded (the process died before the gateway call, or the request was
// lost on the way) is settled by the reconciler once the op's lease has
// lapsed, with exactly one sale at the gateway, and the call's key then
// replays the outcome.
func TestReconcileSettlesLostSale(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		crash string // the crash point, if the process dies
		lose  bool   // the gateway never sees the first sale
		// answered is the first call's own answer: nil error and the intent
		// processing, or (a crash) no answer at all.
		answered bool
		// held: the op keeps its lease until it lapses (its owner died);
		// otherwise its owner gave it up at once.
		held bool
	}{
		{name: "crash before the gateway call", crash: "prepared", held: true},
		{name: "request lost", lose: true, answered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Dialects(t, func(t *testing.T, postgres bool) {
				var opts options
				if tt.crash != "" {
					opts.crash = crashOnce(tt.crash)
				}
				e := newEnv(t, postgres, opts)
				ctx := context.Background()
				pm := e.card(t, visa)
				e.gw.loseRequest.Store(tt.lose)
				call := e.keyed("lost-sale", "fp")
				a, err := e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
				switch {
				case tt.answered:
					if err != nil {
						t.Fatal(err)
					}
					answeredIntent(t, a, pay.StatusProcessing)
				case !errors.Is(err, payments.ErrCrashed):
					t.Fatalf("crash at %s: %v, %v", tt.crash, a, err)
				}
				pi := e.onlyIntent(t)
				if pi.Status != pay.StatusProcessing || len(e.ops(t, pay.OpPending)) != 1 {
					t.Fatalf("before reconciling: intent %s, %d pending ops", pi.Status, len(e.ops(t, pay.OpPending)))
				}

				if tt.held {
					// The owner might still be waiting on the gateway: hands off.
					e.clock.Advance(payments.OpLease - 2*time.Second)
					e.reconcile(t)
					if got := e.intent(t, pi.ID); got.Status != pay.StatusProcessing || e.gw.called("sale") != 0 {
						t.Fatalf("within the lease: intent %s, %d sales sent", got.Status, e.gw.called("sale"))
					}
					e.clock.Advance(3 * time.Second)
				}
				e.reconcile(t)

				got := e.intent(t, pi.ID)
				if got.Status != pay.StatusSucceeded || got.AmountReceived != chargeAmount {
					t.Fatalf("after reconciling: intent %s, amount_received %d", got.Status, got.AmountReceived)
				}
				if xrefs := e.gw.approvedSales(); len(xrefs) != 1 || e.charge(t, got.LatestCharge).XRef != xrefs[0] {
					t.Errorf("approved sales at the gateway %v, want exactly one, the charge's", xrefs)
				}
				if n := len(e.ops(t, pay.OpPending)) + len(e.ops(t, pay.OpAttention)); n != 0 {
					t.Errorf("%d ops still open", n)
				}
				want := []string{"payment_intent.created", "payment_intent.succeeded"}
				if got := e.events(t, pi.ID); !slices.Equal(got, want) {
					t.Errorf("events %v, want %v", got, want)
				}
				// The reconciler kept the outcome under the call's key.
				again, err := e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
				if err != nil || !again.Replayed || !bytes.Contains(again.Body, []byte(`"status":"succeeded"`)) {
					t.Errorf("retry with the key: %v %+v", err, again)
				}
				e.reconcile(t) // nothing left to do
				if n := len(e.gw.approvedSales()); n != 1 {
					t.Errorf("%d approved sales after another round, want 1", n)
				}
			})
		})
	}
}

// TestReconcileLostAnswer: a sale that landed at the gateway but whose
// answer was lost is never charged twice. The reconciler's resend is
// refused by the gateway as a duplicate, which does not say how the first
// copy ended, so the op is parked for an operator and the intent stays
// processing; the operator's resolution with the sale's xref settles it.
func TestReconcileLostAnswer(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pm := e.card(t, visa)
		e.gw.loseAnswer.Store(true)
		a, err := e.svc.CreatePaymentIntent(ctx, e.plain(), intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
		if err != nil {
			t.Fatal(err)
		}
		pi := answeredIntent(t, a, pay.StatusProcessing)

		e.reconcile(t)
		if got := e.intent(t, pi.ID); got.Status != pay.StatusProcessing {
			t.Errorf("after reconciling: intent %s, want processing", got.Status)
		}
		if n, xrefs := e.gw.called("sale"), e.gw.approvedSales(); n != 2 || len(xrefs) != 1 {
			t.Errorf("%d sales sent, %d approved; want the resend refused as a duplicate", n, len(xrefs))
		}
		parked := e.ops(t, pay.OpAttention)
		if len(parked) != 1 || parked[0].ObjectID != pi.ID {
			t.Fatalf("ops waiting for an operator: %v, want the sale's", parked)
		}

		if err := e.svc.ResolveGatewayOp(ctx, parked[0].ID, e.gw.approvedSales()[0], false); err != nil {
			t.Fatal(err)
		}
		got := e.intent(t, pi.ID)
		if got.Status != pay.StatusSucceeded || e.charge(t, got.LatestCharge).XRef != e.gw.approvedSales()[0] {
			t.Errorf("resolved: intent %s", got.Status)
		}
		if n := len(e.gw.approvedSales()); n != 1 {
			t.Errorf("%d approved sales, want 1", n)
		}
	})
}
