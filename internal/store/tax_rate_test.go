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

// A tax rate is stored exactly (its percentage in ten-thousandths), found
// only in its own scope, updated but for its percentage and inclusive flag,
// and listed with the active and inclusive filters.
func TestTaxRates(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		create := func(r *pay.TaxRate) *pay.TaxRate {
			t.Helper()
			r.Scope = scope
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateTaxRate(ctx, r) }); err != nil {
				t.Fatal(err)
			}
			return r
		}
		std := create(&pay.TaxRate{Active: true, DisplayName: "VAT", Description: "UK standard rate", Percentage: 200000, Country: "GB",
			State: "ENG", Jurisdiction: "UK", JurisdictionLevel: "country", TaxType: "vat", Metadata: map[string]string{"hmrc": "box1"}})
		odd := create(&pay.TaxRate{Active: true, DisplayName: "Odd", Percentage: 1, Inclusive: true})
		full := create(&pay.TaxRate{DisplayName: "All of it", Percentage: pay.MaxPercent, Inclusive: true})

		got, err := db.FindTaxRate(ctx, scope, std.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(std, got); diff != "" {
			t.Errorf("FindTaxRate(%s) (-stored +found):\n%s", std.ID, diff)
		}
		for _, r := range []*pay.TaxRate{odd, full} {
			if got, err := db.FindTaxRate(ctx, scope, r.ID); err != nil || got.Percentage != r.Percentage || got.Metadata != nil {
				t.Errorf("FindTaxRate(%s) = %+v, %v, want percentage %d exactly", r.ID, got, err, r.Percentage)
			}
		}
		for _, other := range []pay.Scope{{ProjectID: scope.ProjectID, Livemode: true}, storetest.Project(t, db)} {
			if _, err := db.FindTaxRate(ctx, other, std.ID); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("FindTaxRate(%s) in %+v: %v, want ErrNotFound", std.ID, other, err)
			}
		}

		// Every mutable field changes; percentage and inclusive do not, even if
		// the caller changed them on its copy.
		ch := *std
		ch.Active, ch.DisplayName, ch.Description, ch.Country, ch.State, ch.Jurisdiction, ch.JurisdictionLevel, ch.TaxType =
			false, "VAT (old)", "", "IE", "", "", "", "gst"
		ch.Metadata, ch.Percentage, ch.Inclusive = nil, 1, true
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.UpdateTaxRate(ctx, &ch) }); err != nil {
			t.Fatal(err)
		}
		got, _ = db.FindTaxRate(ctx, scope, std.ID)
		want := ch
		want.Percentage, want.Inclusive = std.Percentage, std.Inclusive
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("after UpdateTaxRate (-want +got):\n%s", diff)
		}
		missing := ch
		missing.Scope.Livemode = true
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.UpdateTaxRate(ctx, &missing) }); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("UpdateTaxRate in live mode: %v, want ErrNotFound", err)
		}

		yes, no := true, false
		for _, tt := range []struct {
			f    store.TaxRateFilter
			want []string
		}{
			{store.TaxRateFilter{}, []string{full.ID, odd.ID, std.ID}},
			{store.TaxRateFilter{Active: &yes}, []string{odd.ID}},
			{store.TaxRateFilter{Active: &no}, []string{full.ID, std.ID}},
			{store.TaxRateFilter{Inclusive: &yes}, []string{full.ID, odd.ID}},
			{store.TaxRateFilter{Active: &no, Inclusive: &no}, []string{std.ID}},
		} {
			l, err := db.FindTaxRates(ctx, scope, tt.f, pay.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range l.Data {
				ids = append(ids, r.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("FindTaxRates(%+v) (-want +got):\n%s", tt.f, diff)
			}
		}

		// The database refuses a percentage out of range, whatever the caller checked.
		bad := &pay.TaxRate{Scope: scope, DisplayName: "Too much", Percentage: pay.MaxPercent + 1}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateTaxRate(ctx, bad) }); err == nil {
			t.Error("a percentage above 100 % was stored")
		}
	})
}
