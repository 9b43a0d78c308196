package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// day0 is a UTC midnight (2026-03-01).
const day0 = 1772323200

func TestDashboardRevenue(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		live := pay.Scope{ProjectID: scope.ProjectID, Livemode: true}
		pi := func(s pay.Scope, created, amount, received int64, cur, status string) *pay.PaymentIntent {
			return &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: s, Created: created, Amount: amount,
				AmountReceived: received, Currency: cur, Status: status, CaptureMethod: "automatic", Metadata: map[string]string{},
				ClientSecret: "secret"}
		}
		re := func(s pay.Scope, created, amount int64, cur, status string) *pay.Refund {
			return &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: s, Created: created, Amount: amount, Currency: cur, Status: status,
				Charge: "ch_x", PaymentIntent: "pi_x"}
		}
		b := &store.Bulk{
			PaymentIntents: []*pay.PaymentIntent{
				pi(scope, day0-1, 9000, 9000, "gbp", pay.StatusSucceeded),   // before since, and the day before day0
				pi(scope, day0, 1000, 1000, "gbp", pay.StatusSucceeded),     // the first second of day0
				pi(scope, day0+86399, 800, 500, "gbp", pay.StatusSucceeded), // the last; partly captured: counts what was received
				pi(scope, day0+86400, 2000, 2000, "gbp", pay.StatusSucceeded),
				pi(scope, day0+86405, 700, 700, "eur", pay.StatusSucceeded),
				pi(scope, day0+100, 999, 0, "gbp", pay.StatusRequiresPaymentMethod),
				pi(scope, day0+200, 999, 0, "gbp", pay.StatusCanceled),
				pi(scope, day0+300, 999, 0, "gbp", pay.StatusProcessing),
				pi(other, day0+10, 50000, 50000, "gbp", pay.StatusSucceeded),
				pi(live, day0+10, 70000, 70000, "gbp", pay.StatusSucceeded),
			},
			Refunds: []*pay.Refund{
				re(scope, day0+86400, 200, "gbp", "succeeded"),
				re(scope, day0+86401, 50, "gbp", "pending"),
				re(scope, day0+86402, 60, "gbp", "failed"),
				re(scope, day0-5, 70, "gbp", "succeeded"),  // before since
				re(scope, day0+7, 300, "usd", "succeeded"), // a currency with refunds only
				re(other, day0+7, 400, "gbp", "succeeded"),
				re(live, day0+7, 500, "gbp", "succeeded"),
			},
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.InsertBulk(ctx, b) }); err != nil {
			t.Fatal(err)
		}

		got, err := db.RevenueSummary(ctx, scope, day0)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.RevenueTotal{
			{Currency: "eur", Amount: 700, Count: 1},
			{Currency: "gbp", Amount: 3500, Refunded: 200, Count: 3},
			{Currency: "usd", Refunded: 300},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RevenueSummary(since day0) mismatch (-want +got):\n%s", diff)
		}
		got, err = db.RevenueSummary(ctx, scope, 0)
		if err != nil {
			t.Fatal(err)
		}
		want[1] = store.RevenueTotal{Currency: "gbp", Amount: 12500, Refunded: 270, Count: 4}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RevenueSummary(all time) mismatch (-want +got):\n%s", diff)
		}
		if got, err := db.RevenueSummary(ctx, scope, day0+2*86400); err != nil || len(got) != 0 {
			t.Errorf("RevenueSummary(after everything) = %v, %v; want none", got, err)
		}

		days, err := db.DailyRevenue(ctx, scope, day0, day0+2*86400)
		if err != nil {
			t.Fatal(err)
		}
		wantDays := []store.DayRevenue{
			{Day: day0, Currency: "gbp", Amount: 1500, Count: 2},
			{Day: day0 + 86400, Currency: "eur", Amount: 700, Count: 1},
			{Day: day0 + 86400, Currency: "gbp", Amount: 2000, Count: 1},
		}
		if diff := cmp.Diff(wantDays, days); diff != "" {
			t.Errorf("DailyRevenue(day0, day2) mismatch (-want +got):\n%s", diff)
		}
		// to is exclusive: the payment at day1's first second is out.
		days, err = db.DailyRevenue(ctx, scope, day0, day0+86400)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantDays[:1], days); diff != "" {
			t.Errorf("DailyRevenue(day0, day1) mismatch (-want +got):\n%s", diff)
		}
		// from is inclusive, and a day is cut where from cuts it.
		days, err = db.DailyRevenue(ctx, scope, day0+86399, day0+86401)
		if err != nil {
			t.Fatal(err)
		}
		wantCut := []store.DayRevenue{{Day: day0, Currency: "gbp", Amount: 500, Count: 1}, {Day: day0 + 86400, Currency: "gbp", Amount: 2000, Count: 1}}
		if diff := cmp.Diff(wantCut, days); diff != "" {
			t.Errorf("DailyRevenue(day0+86399, day1+1) mismatch (-want +got):\n%s", diff)
		}
		if days, err := db.DailyRevenue(ctx, other, day0, day0+86400); err != nil || len(days) != 1 || days[0].Amount != 50000 {
			t.Errorf("DailyRevenue(other project) = %v, %v; want its own payment alone", days, err)
		}
	})
}

func TestFindPaymentIntentsFilters(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		var b store.Bulk
		add := func(s pay.Scope, created, amount int64, status, customer string) string {
			pi := &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: s, Created: created, Amount: amount, Currency: "gbp",
				Status: status, Customer: customer, CaptureMethod: "automatic", ClientSecret: "s"}
			b.PaymentIntents = append(b.PaymentIntents, pi)
			return pi.ID
		}
		a := add(scope, day0+1, 500, pay.StatusSucceeded, "cus_a")
		c := add(scope, day0+2, 1000, pay.StatusSucceeded, "cus_b")
		d := add(scope, day0+3, 1500, pay.StatusCanceled, "cus_a")
		e := add(scope, day0+4, 2000, pay.StatusSucceeded, "cus_a")
		f := add(scope, day0+5, 2500, pay.StatusRequiresPaymentMethod, "")
		add(other, day0+3, 1500, pay.StatusSucceeded, "cus_a")
		add(pay.Scope{ProjectID: scope.ProjectID, Livemode: true}, day0+3, 1500, pay.StatusSucceeded, "cus_a")
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.InsertBulk(ctx, &b) }); err != nil {
			t.Fatal(err)
		}
		gte := int64(day0 + 2)
		for _, tt := range []struct {
			name string
			f    store.PaymentIntentFilter
			page pay.Page
			want []string
		}{
			{"none", store.PaymentIntentFilter{}, pay.Page{}, []string{f, e, d, c, a}},
			{"status", store.PaymentIntentFilter{Status: pay.StatusSucceeded}, pay.Page{}, []string{e, c, a}},
			{"amount >=", store.PaymentIntentFilter{AmountGTE: 1500}, pay.Page{}, []string{f, e, d}},
			{"amount <=", store.PaymentIntentFilter{AmountLTE: 1000}, pay.Page{}, []string{c, a}},
			{"amount between", store.PaymentIntentFilter{AmountGTE: 1000, AmountLTE: 2000}, pay.Page{}, []string{e, d, c}},
			{"customer and status", store.PaymentIntentFilter{Customer: "cus_a", Status: pay.StatusSucceeded}, pay.Page{}, []string{e, a}},
			{"all and created", store.PaymentIntentFilter{Customer: "cus_a", Status: pay.StatusSucceeded, AmountGTE: 600},
				pay.Page{Created: pay.Range{Gte: &gte}}, []string{e}},
			{"status, after a cursor", store.PaymentIntentFilter{Status: pay.StatusSucceeded}, pay.Page{StartingAfter: e}, []string{c, a}},
			{"status, limited", store.PaymentIntentFilter{Status: pay.StatusSucceeded}, pay.Page{Limit: 1, StartingAfter: e}, []string{c}},
		} {
			if tt.page.Limit == 0 {
				tt.page.Limit = 10
			}
			l, err := db.FindPaymentIntents(ctx, scope, tt.f, tt.page)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var got []string
			for _, pi := range l.Data {
				got = append(got, pi.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindPaymentIntents(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}

// TestInsertBulk checks that bulk rows read back as the Create methods'
// do: sealed personal data, the email's blind index, invoice and
// subscription data.
func TestInsertBulk(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		cus := &pay.Customer{ID: pay.NewID(pay.PrefixCustomer), Scope: scope, Created: day0, Email: "ada@example.com", Name: "Ada Lovelace",
			TaxExempt: "none", InvoicePrefix: "ABCD1234", InvoiceSequence: 2}
		pi := &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: scope, Created: day0 + 5, Amount: 1500, AmountReceived: 1500,
			Currency: "gbp", Status: pay.StatusSucceeded, Customer: cus.ID, CaptureMethod: "automatic", ClientSecret: "pi_secret_x",
			ReceiptEmail: "ada@example.com", Metadata: map[string]string{"order": "7"}}
		b := &store.Bulk{Customers: []*pay.Customer{cus}, PaymentIntents: []*pay.PaymentIntent{pi}}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.InsertBulk(ctx, b) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindCustomer(ctx, scope, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cus, got); diff != "" {
			t.Errorf("FindCustomer mismatch (-want +got):\n%s", diff)
		}
		l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: "ada@example.com"}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != cus.ID {
			t.Errorf("FindCustomers(email) = %v, %v; want %s", l.Data, err, cus.ID)
		}
		gotPI, err := db.FindPaymentIntent(ctx, scope, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pi, gotPI); diff != "" {
			t.Errorf("FindPaymentIntent mismatch (-want +got):\n%s", diff)
		}
	})
}
