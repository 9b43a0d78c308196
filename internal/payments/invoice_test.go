package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestInvoiceSessions: pressing Pay again reuses the invoice's open session
// while it asks for what remains and has time left; an invoice's session is
// internal (the API's finders never show it, it cannot be expired through
// the API) and expires with no checkout.session event.
func TestInvoiceSessions(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		inv := &pay.Invoice{Scope: e.scope, Status: pay.InvoiceStatusOpen, Currency: "gbp", Customer: "cus_x", CollectionMethod: pay.CollectSend,
			Number: "ABCD-0001", Token: "inv_token", Total: 1200, AmountDue: 1200, AmountRemaining: 1200, CustomerEmail: "ada@example.com"}
		session := func() *pay.CheckoutSession {
			t.Helper()
			var cs *pay.CheckoutSession
			if err := e.db.Tx(ctx, func(tx *store.Tx) error {
				if inv.ID == "" {
					if err := tx.CreateInvoice(ctx, inv); err != nil {
						return err
					}
				}
				var err error
				cs, err = e.svc.InvoiceSession(ctx, tx, inv)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return cs
		}
		first := session()
		if first.Invoice != inv.ID || first.AmountTotal != 1200 || first.Currency != "gbp" || first.Customer != "cus_x" ||
			first.SuccessURL != "http://calmony.test/invoices/inv_token?payment=paid" || first.PIMetadata["invoice"] != inv.ID ||
			first.PIDescription != "Invoice ABCD-0001" || first.ExpiresAt != e.clock.Now().Add(time.Hour).Unix() {
			t.Fatalf("session %+v", first)
		}
		if again := session(); again.ID != first.ID {
			t.Errorf("a second press made session %s, want %s again", again.ID, first.ID)
		}
		e.clock.Advance(31 * time.Minute) // less than 30 minutes left: a new one
		second := session()
		if second.ID == first.ID {
			t.Error("a session about to expire was reused")
		}
		if _, err := e.db.FindCheckoutSession(ctx, e.scope, first.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("the API found the invoice's session: %v", err)
		}
		if _, err := e.svc.ExpireCheckoutSession(ctx, e.plain(), second.ID); payError(t, err).Status != 404 {
			t.Errorf("the API expired the invoice's session: %v", err)
		}
		e.clock.Advance(2 * time.Hour)
		if n, err := e.svc.ExpireCheckoutSessions(ctx); err != nil || n != 2 {
			t.Fatalf("expired %d, %v; want 2", n, err)
		}
		for _, cs := range []*pay.CheckoutSession{first, second} {
			if got := e.events(t, cs.ID); len(got) != 0 {
				t.Errorf("events of session %s: %v", cs.ID, got)
			}
		}
	})
}
