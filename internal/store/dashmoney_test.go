package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestPaymentHistory checks the reads of a payment's timeline: its events
// and gateway ops, of the scope only, oldest first, the newest limit.
func TestPaymentHistory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		live := pay.Scope{ProjectID: scope.ProjectID, Livemode: true}
		pi, re, theirs := "pi_history", "re_history", "pi_theirs"
		var events []string
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, e := range []struct {
				scope  pay.Scope
				typ    string
				object string
			}{
				{scope, "payment_intent.created", pi}, {scope, "payment_intent.succeeded", pi}, {scope, "refund.created", re},
				{scope, "customer.created", "cus_else"}, {other, "payment_intent.created", theirs}, {live, "payment_intent.created", pi},
			} {
				ev := &pay.Event{Scope: e.scope, Type: e.typ, ObjectID: e.object, Data: []byte(`{}`)}
				if err := tx.CreateEvent(ctx, ev); err != nil {
					return err
				}
				if e.scope == scope && e.object != "cus_else" {
					events = append(events, ev.ID)
				}
			}
			for _, op := range []*pay.GatewayOp{
				{Scope: scope, Kind: "sale", ObjectID: pi, TransactionUnique: pi + "-1"},
				{Scope: scope, Kind: "refund", ObjectID: re, TransactionUnique: re},
				{Scope: other, Kind: "sale", ObjectID: theirs, TransactionUnique: theirs},
				{Scope: live, Kind: "sale", ObjectID: pi, TransactionUnique: pi + "-live"},
			} {
				if err := tx.CreateGatewayOp(ctx, op, nil, time.Minute); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FindEventsOf(ctx, scope, []string{pi, re, theirs}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, events) {
			t.Errorf("FindEventsOf = %v; want the scope's %v, oldest first", ids, events)
		}
		if got, err := db.FindEventsOf(ctx, scope, []string{pi, re}, 2); err != nil || len(got) != 2 || got[0].ID != events[1] || got[1].ID != events[2] {
			t.Errorf("FindEventsOf limit 2 = %v, %v; want the newest two, oldest first", got, err)
		}
		if got, err := db.FindEventsOf(ctx, scope, nil, 10); err != nil || len(got) != 0 {
			t.Errorf("FindEventsOf of nothing = %v, %v", got, err)
		}
		ops, err := db.FindGatewayOpsOf(ctx, scope, []string{pi, re, theirs}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, op := range ops {
			kinds = append(kinds, op.Kind+":"+op.ObjectID)
		}
		if !slices.Equal(kinds, []string{"sale:" + pi, "refund:" + re}) {
			t.Errorf("FindGatewayOpsOf = %v", kinds)
		}
	})
}

// TestPaymentsByCustomerEmail checks PaymentIntentFilter.CustomerEmail:
// the payments of every customer of the scope with the email, exactly.
func TestPaymentsByCustomerEmail(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		cus := func(s pay.Scope, email string) *pay.Customer {
			return &pay.Customer{ID: pay.NewID(pay.PrefixCustomer), Scope: s, Created: 100, Email: email, Metadata: map[string]string{}}
		}
		ada1, ada2, bob, theirAda := cus(scope, "ada@example.com"), cus(scope, "ada@example.com"), cus(scope, "bob@example.com"),
			cus(other, "ada@example.com")
		n := int64(0)
		pi := func(c *pay.Customer) *pay.PaymentIntent {
			n++
			return &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: c.Scope, Created: 1000 + n, Amount: 100 * n, Currency: "gbp",
				Status: pay.StatusSucceeded, CaptureMethod: "automatic", Customer: c.ID, Metadata: map[string]string{}, ClientSecret: "s"}
		}
		p1, p2, p3, p4 := pi(ada1), pi(bob), pi(ada2), pi(theirAda)
		b := &store.Bulk{Customers: []*pay.Customer{ada1, ada2, bob, theirAda}, PaymentIntents: []*pay.PaymentIntent{p1, p2, p3, p4}}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.InsertBulk(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		for email, want := range map[string][]string{
			"ada@example.com": {p3.ID, p1.ID}, "bob@example.com": {p2.ID}, "ADA@example.com": nil, "nobody@example.com": nil,
		} {
			l, err := db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{CustomerEmail: email}, pay.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range l.Data {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("payments of %s = %v; want %v", email, got, want)
			}
		}
		l, err := db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{CustomerEmail: "ada@example.com", AmountGTE: 200}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != p3.ID {
			t.Errorf("ada's payments of 2.00 or more = %v, %v", l.Data, err)
		}
	})
}
