package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// Two admins demoting each other at once leave the project one admin: the
// project's row lock orders them, and the second finds itself the last.
func TestSetMemberRoleKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		var ids []string
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, email := range []string{"ada@example.com", "bob@example.com"} {
				u, err := tx.EnsureUser(ctx, email, "")
				if err != nil {
					return err
				}
				ids = append(ids, u.ID)
				if err := tx.SetMember(ctx, scope.ProjectID, u.ID, pay.RoleAdmin); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range ids {
			wg.Go(func() {
				errs[i] = db.Tx(ctx, func(tx *store.Tx) error { return tx.SetMemberRole(ctx, scope.ProjectID, id, pay.RoleViewer) })
			})
		}
		wg.Wait()
		if ok := (errs[0] == nil) != (errs[1] == nil); !ok || !(errors.Is(errs[0], pay.ErrConflict) || errors.Is(errs[1], pay.ErrConflict)) {
			t.Fatalf("demoting each other: %v, %v; want one success and one ErrConflict", errs[0], errs[1])
		}
		ms, err := db.FindMembers(ctx, scope.ProjectID)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, m := range ms {
			if m.Role == pay.RoleAdmin {
				admins++
			}
		}
		if admins != 1 {
			t.Errorf("%d admins left; want 1", admins)
		}
		// A user who is not a member is not made one.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			u, err := tx.EnsureUser(ctx, "cy@example.com", "")
			if err != nil {
				return err
			}
			return tx.SetMemberRole(ctx, scope.ProjectID, u.ID, pay.RoleViewer)
		})
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("SetMemberRole of a non-member: %v; want ErrNotFound", err)
		}
	})
}
