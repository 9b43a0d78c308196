package payments_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// checkoutParams are a one-item session in GBP, expiring after
// expiresIn seconds (nil: the default).
func checkoutParams(expiresIn *int64) payments.CheckoutParams {
	return payments.CheckoutParams{Currency: "gbp", LineItems: []pay.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 2}},
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cancel", ExpiresIn: expiresIn}
}

// TestExpireCheckoutSessions expires the open sessions that are overdue,
// once, and leaves the others open.
func TestExpireCheckoutSessions(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		session := func(expiresIn int64) *pay.CheckoutSession {
			t.Helper()
			a, err := e.svc.CreateCheckoutSession(ctx, e.plain(), checkoutParams(&expiresIn))
			if err != nil {
				t.Fatal(err)
			}
			cs, ok := a.Object.(*pay.CheckoutSession)
			if !ok || cs.Status != pay.CheckoutOpen || cs.AmountTotal != 900 {
				t.Fatalf("created %T %+v", a.Object, a.Object)
			}
			return cs
		}
		soon, later := session(300), session(3600)

		if n, err := e.svc.ExpireCheckoutSessions(ctx); err != nil || n != 0 {
			t.Fatalf("before any is due: expired %d, %v", n, err)
		}
		e.clock.Advance(301 * time.Second)
		if n, err := e.svc.ExpireCheckoutSessions(ctx); err != nil || n != 1 {
			t.Fatalf("expired %d, %v; want 1", n, err)
		}
		for _, s := range []struct {
			cs   *pay.CheckoutSession
			want string
		}{{soon, pay.CheckoutExpired}, {later, pay.CheckoutOpen}} {
			got, err := e.db.FindCheckoutSession(ctx, e.scope, s.cs.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != s.want {
				t.Errorf("session expiring at %d: %s, want %s", s.cs.ExpiresAt, got.Status, s.want)
			}
		}
		if got := e.events(t, soon.ID); !slices.Equal(got, []string{"checkout.session.expired"}) {
			t.Errorf("events of the expired session: %v", got)
		}
		if got := e.events(t, later.ID); len(got) != 0 {
			t.Errorf("events of the open session: %v", got)
		}
		if n, err := e.svc.ExpireCheckoutSessions(ctx); err != nil || n != 0 {
			t.Errorf("second sweep: expired %d, %v; want 0", n, err)
		}
		a, err := e.svc.ExpireCheckoutSession(ctx, e.plain(), soon.ID)
		if pe := refused(t, a, err); pe.Code != "checkout_session_unexpected_state" {
			t.Errorf("expiring an expired session: %v", pe)
		}
	})
}

// TestCreateCheckoutSessionChecksLineItems: the service checks line items
// itself, for callers other than the API, and writes nothing when they are
// wrong.
func TestCreateCheckoutSessionChecksLineItems(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		good := pay.LineItem{ID: pay.NewID(pay.PrefixLineItem), Name: "Tea", Quantity: 1, UnitAmount: 500}
		for name, items := range map[string][]pay.LineItem{
			"none":          nil,
			"zero quantity": {{ID: good.ID, Name: "Tea", Quantity: 0, UnitAmount: 500}},
			"negative":      {{ID: good.ID, Name: "Tea", Quantity: 1, UnitAmount: -1}},
			"no name":       {{ID: good.ID, Quantity: 1, UnitAmount: 500}},
		} {
			_, err := e.svc.CreateCheckoutSession(ctx, payments.Plain(e.scope), payments.CheckoutParams{Currency: "gbp", LineItems: items,
				SuccessURL: "https://shop.example/ok"})
			if e, ok := pay.AsError(err); !ok || e.Status != 400 {
				t.Errorf("%s: %v, want a 400", name, err)
			}
		}
		if l, err := e.db.FindCheckoutSessions(ctx, e.scope, "", pay.Page{Limit: 10}); err != nil || len(l.Data) != 0 {
			t.Errorf("sessions written: %v, %v", l, err)
		}
		a, err := e.svc.CreateCheckoutSession(ctx, payments.Plain(e.scope), payments.CheckoutParams{Currency: "gbp", LineItems: []pay.LineItem{good},
			SuccessURL: "https://shop.example/ok"})
		if err != nil || a.Object.(*pay.CheckoutSession).AmountTotal != 500 {
			t.Errorf("a good session: %v, %v", a, err)
		}
	})
}
