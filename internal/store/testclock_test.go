package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func TestTestClockLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		c := &pay.TestClock{Scope: scope, Name: "annual plan", FrozenTime: 1_700_000_000, Status: pay.TestClockReady}
		tx(func(tx *store.Tx) error { return tx.CreateTestClock(ctx, c) })
		if !pay.HasPrefix(c.ID, pay.PrefixTestClock) || c.Created == 0 {
			t.Fatalf("created clock = %+v", c)
		}
		got, err := db.FindTestClock(ctx, scope, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("FindTestClock mismatch (-want +got):\n%s", diff)
		}
		for _, other := range []pay.Scope{storetest.Project(t, db), {ProjectID: scope.ProjectID, Livemode: true}} {
			if _, err := db.FindTestClock(ctx, other, c.ID); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("FindTestClock from %+v: err = %v, want ErrNotFound", other, err)
			}
		}

		// Customers remember their clock; only this one's are its customers.
		on := createCustomer(t, db, &pay.Customer{Scope: scope, TestClock: c.ID})
		createCustomer(t, db, &pay.Customer{Scope: scope})
		if got, _ := db.FindCustomer(ctx, scope, on.ID); got.TestClock != c.ID {
			t.Errorf("customer's test clock = %q, want %s", got.TestClock, c.ID)
		}
		tx(func(tx *store.Tx) error {
			ids, err := tx.FindTestClockCustomers(ctx, scope, c.ID)
			if !slices.Equal(ids, []string{on.ID}) {
				t.Errorf("clock's customers = %v, %v; want [%s]", ids, err, on.ID)
			}
			return err
		})

		// An advance: the target recorded, then finished once.
		c.Status, c.TargetFrozenTime = pay.TestClockAdvancing, 1_800_000_000
		tx(func(tx *store.Tx) error { return tx.UpdateTestClock(ctx, c) })
		advancing, err := db.FindAdvancingTestClocks(ctx, 10)
		if err != nil || len(advancing) != 1 || advancing[0].ID != c.ID || advancing[0].TargetFrozenTime != 1_800_000_000 {
			t.Fatalf("advancing clocks = %+v, %v", advancing, err)
		}
		finish := func(target int64) bool {
			var done bool
			tx(func(tx *store.Tx) (err error) { done, err = tx.FinishTestClockAdvance(ctx, c.ID, target); return err })
			return done
		}
		if finish(1_799_999_999) {
			t.Error("an advance to another target was finished")
		}
		if !finish(1_800_000_000) {
			t.Error("the advance was not finished")
		}
		if finish(1_800_000_000) {
			t.Error("the advance was finished twice")
		}
		got, _ = db.FindTestClock(ctx, scope, c.ID)
		if got.FrozenTime != 1_800_000_000 || got.Status != pay.TestClockReady || got.TargetFrozenTime != 0 {
			t.Errorf("after the advance: %+v", got)
		}
		if advancing, _ := db.FindAdvancingTestClocks(ctx, 10); len(advancing) != 0 {
			t.Errorf("advancing clocks after the finish = %+v", advancing)
		}

		// Lists, newest first.
		second := &pay.TestClock{Scope: scope, FrozenTime: 1, Status: pay.TestClockReady}
		tx(func(tx *store.Tx) error { return tx.CreateTestClock(ctx, second) })
		l, err := db.FindTestClocks(ctx, scope, pay.Page{Limit: 1})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != second.ID || !l.HasMore {
			t.Errorf("first page = %+v, %v", l, err)
		}
		l, err = db.FindTestClocks(ctx, scope, pay.Page{Limit: 1, StartingAfter: second.ID})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != c.ID || l.HasMore {
			t.Errorf("second page = %+v, %v", l, err)
		}

		tx(func(tx *store.Tx) error { return tx.DeleteTestClock(ctx, scope, c.ID) })
		if _, err := db.FindTestClock(ctx, scope, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("deleted clock: err = %v, want ErrNotFound", err)
		}
		if finish(1_800_000_000) {
			t.Error("a deleted clock's advance was finished")
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteTestClock(ctx, scope, c.ID) })
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
	})
}
