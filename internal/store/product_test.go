package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestProductsAndPrices round-trips products and prices, and checks the
// uniqueness the database itself holds, whatever the callers check first:
// a chosen product ID within its scope, and a lookup key among the scope's
// active prices.
func TestProductsAndPrices(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		tx := func(fn func(tx *store.Tx) error) error { return db.Tx(ctx, fn) }

		prod := &pay.Product{Scope: scope, ID: "gold", Name: "Gold", Active: true, Images: []string{"https://example.com/a.png"},
			MarketingFeatures: []string{"Fast", "Friendly"}, Metadata: map[string]string{"tier": "1"}, URL: "https://example.com/gold"}
		if err := tx(func(tx *store.Tx) error { return tx.CreateProduct(ctx, prod) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindProduct(ctx, scope, "gold")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(prod, got); diff != "" {
			t.Errorf("FindProduct (-want +got):\n%s", diff)
		}
		again := &pay.Product{Scope: scope, ID: "gold", Name: "Again"}
		if err := tx(func(tx *store.Tx) error { return tx.CreateProduct(ctx, again) }); !errors.Is(err, pay.ErrConflict) {
			t.Errorf("a second product gold: err = %v, want ErrConflict", err)
		}
		live := &pay.Product{Scope: pay.Scope{ProjectID: scope.ProjectID, Livemode: true}, ID: "gold", Name: "Live gold"}
		if err := tx(func(tx *store.Tx) error { return tx.CreateProduct(ctx, live) }); err != nil {
			t.Errorf("gold in live mode: %v", err)
		}

		price := func(key string, active bool) *pay.Price {
			return &pay.Price{Scope: scope, Product: "gold", Active: active, Currency: "gbp", UnitAmount: 500, LookupKey: key,
				Recurring: &pay.Recurring{Interval: "week", IntervalCount: 2, TrialPeriodDays: 7}, TaxBehavior: "unspecified"}
		}
		first := price("std", true)
		if err := tx(func(tx *store.Tx) error { return tx.CreatePrice(ctx, first) }); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindPrice(ctx, scope, first.ID); err != nil || !cmp.Equal(first, got) {
			t.Errorf("FindPrice = %+v, %v; want %+v", got, err, first)
		}
		if err := tx(func(tx *store.Tx) error { return tx.CreatePrice(ctx, price("std", true)) }); !errors.Is(err, pay.ErrConflict) {
			t.Errorf("a second active price with key std: err = %v, want ErrConflict", err)
		}
		archived := price("std", false)
		if err := tx(func(tx *store.Tx) error { return tx.CreatePrice(ctx, archived) }); err != nil {
			t.Errorf("an inactive price with key std: %v", err)
		}
		archived.Active = true
		if err := tx(func(tx *store.Tx) error { return tx.UpdatePrice(ctx, archived) }); !errors.Is(err, pay.ErrConflict) {
			t.Errorf("activating a second price with key std: err = %v, want ErrConflict", err)
		}

		err = tx(func(tx *store.Tx) error {
			has, err := tx.ProductHasPrices(ctx, scope, "gold")
			if err == nil && !has {
				err = errors.New("gold has no prices")
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
		l, err := db.FindPrices(ctx, scope, store.PriceFilter{Product: "gold", Type: pay.PriceRecurring, Interval: "week"}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 2 || l.Data[0].ID != archived.ID {
			t.Errorf("FindPrices(product gold, weekly) = %d prices, %v; want both, newest first", len(l.Data), err)
		}
		l, err = db.FindPrices(ctx, scope, store.PriceFilter{Type: pay.PriceOneTime}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 0 {
			t.Errorf("FindPrices(one_time) = %d prices, %v; want none", len(l.Data), err)
		}
	})
}
