package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func TestProjectBusiness(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		set := func(id string, b pay.Business) error {
			return db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectBusiness(ctx, id, b) })
		}
		p, err := db.FindProject(ctx, scope.ProjectID)
		if err != nil || !p.Business.IsZero() {
			t.Fatalf("new project: %+v, %v; want no business details", p, err)
		}
		want := pay.Business{Name: "Café Ltd — “Tea & Co”", VATNumber: "GB123456789", Email: "accounts@cafe.example", Phone: "+44 20 7946 0000",
			Address: pay.Address{Line1: "1 High Street", Line2: "Shoreditch", City: "London", PostalCode: "E1 6AN", Country: "GB"}}
		if err := set(scope.ProjectID, want); err != nil {
			t.Fatal(err)
		}
		if p, err = db.FindProject(ctx, scope.ProjectID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, p.Business); diff != "" {
			t.Errorf("FindProject business (-want +got):\n%s", diff)
		}
		ps, err := db.FindProjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			switch p.ID {
			case scope.ProjectID:
				if p.Business != want {
					t.Errorf("FindProjects business = %+v, want %+v", p.Business, want)
				}
			case other.ProjectID:
				if !p.Business.IsZero() {
					t.Errorf("the other project has business details %+v", p.Business)
				}
			}
		}
		// The zero value removes them; an unknown project is not found.
		if err := set(scope.ProjectID, pay.Business{}); err != nil {
			t.Fatal(err)
		}
		if p, err = db.FindProject(ctx, scope.ProjectID); err != nil || !p.Business.IsZero() {
			t.Errorf("after removing: %+v, %v", p.Business, err)
		}
		if err := set("proj_nope", want); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("SetProjectBusiness(proj_nope) = %v, want ErrNotFound", err)
		}
	})
}

func TestProjectDunning(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		p, err := db.FindProject(ctx, scope.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pay.DefaultDunning(), p.Dunning); diff != "" {
			t.Errorf("a new project's schedule is not the default (-want +got):\n%s", diff)
		}
		want := pay.Dunning{Retries: []time.Duration{30 * time.Minute, 48 * time.Hour}, FinalAction: pay.DunningMarkUnpaid,
			InvoiceAction: pay.DunningMarkUncollectible}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectDunning(ctx, scope.ProjectID, want) }); err != nil {
			t.Fatal(err)
		}
		if p, err = db.FindProject(ctx, scope.ProjectID); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, p.Dunning); diff != "" {
			t.Errorf("FindProject dunning (-want +got):\n%s", diff)
		}
		if p, err = db.FindProject(ctx, other.ProjectID); err != nil || !cmp.Equal(p.Dunning, pay.DefaultDunning()) {
			t.Errorf("the other project's schedule changed: %+v, %v", p.Dunning, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectDunning(ctx, "proj_missing", want) })
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("an unknown project: %v, want not found", err)
		}
	})
}
