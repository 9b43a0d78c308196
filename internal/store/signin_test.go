package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestSignInReads: the sign-in flows' reads of links, invites, roles and
// projects.
func TestSignInReads(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first := storetest.Project(t, db).ProjectID
		second := storetest.Project(t, db).ProjectID
		if id, err := db.FirstProjectID(ctx); err != nil || id == second {
			t.Errorf("FirstProjectID = %q %v; want the oldest, not %s", id, err, second)
		}
		now := db.Now().Unix()
		var ada *pay.User
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if ada, err = tx.EnsureUser(ctx, "ada@example.com", ""); err != nil {
				return err
			}
			if err := tx.SetMember(ctx, second, ada.ID, pay.RoleDeveloper); err != nil {
				return err
			}
			for _, tok := range []*pay.SignInToken{
				{TokenHash: "h-invite-1", Purpose: pay.TokenInvite, Email: "bob@example.com", ProjectID: first, Role: pay.RoleViewer, ExpiresAt: now + 60},
				{TokenHash: "h-invite-2", Purpose: pay.TokenInvite, Email: "bob@example.com", ProjectID: second, Role: pay.RoleAdmin, ExpiresAt: now + 60},
				{TokenHash: "h-expired", Purpose: pay.TokenInvite, Email: "bob@example.com", ProjectID: first, Role: pay.RoleAdmin, ExpiresAt: now - 1},
				{TokenHash: "h-link", Purpose: pay.TokenSignIn, Email: "bob@example.com", ProjectID: first, ExpiresAt: now + 60},
				{TokenHash: "h-carol", Purpose: pay.TokenInvite, Email: "carol@example.com", ProjectID: first, Role: pay.RoleViewer, ExpiresAt: now + 60},
			} {
				if err := tx.CreateSignInToken(ctx, tok); err != nil {
					return err
				}
			}
			_, err = tx.SpendSignInToken(ctx, "h-invite-1", pay.TokenInvite)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := db.FindSignInToken(ctx, "h-invite-1", pay.TokenInvite); err != nil || tok.UsedAt == 0 || tok.Email != "bob@example.com" {
			t.Errorf("FindSignInToken(spent) = %+v %v", tok, err)
		}
		if _, err := db.FindSignInToken(ctx, "h-link", pay.TokenInvite); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("a link as an invite: %v", err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			invites, err := tx.FindInvitesByEmail(ctx, "bob@example.com", now)
			if err != nil {
				return err
			}
			if len(invites) != 1 || invites[0].TokenHash != "h-invite-2" {
				t.Errorf("FindInvitesByEmail = %+v; want only the unspent, unexpired invite", invites)
			}
			if role, err := tx.FindMemberRole(ctx, second, ada.ID); err != nil || role != pay.RoleDeveloper {
				t.Errorf("FindMemberRole = %q %v", role, err)
			}
			if _, err := tx.FindMemberRole(ctx, first, ada.ID); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("FindMemberRole of a non-member: %v", err)
			}
			if ps, err := tx.FindUserProjects(ctx, ada.ID); err != nil || len(ps) != 1 || ps[0] != second {
				t.Errorf("FindUserProjects = %v %v", ps, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
