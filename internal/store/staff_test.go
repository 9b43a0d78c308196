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

func TestStaffMembersAndSessions(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		var ada, bob *pay.User
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if ada, err = tx.EnsureUser(ctx, "ada@example.com", "Ada"); err != nil {
				return err
			}
			if bob, err = tx.EnsureUser(ctx, "bob@example.com", ""); err != nil {
				return err
			}
			if again, err := tx.EnsureUser(ctx, "ada@example.com", ""); err != nil || again.ID != ada.ID {
				t.Errorf("EnsureUser again = %+v, %v; want %s", again, err, ada.ID)
			}
			if err := tx.SetMember(ctx, scope.ProjectID, ada.ID, pay.RoleAdmin); err != nil {
				return err
			}
			return tx.SetMember(ctx, scope.ProjectID, bob.ID, pay.RoleViewer)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, &pay.User{Email: "ada@example.com"}) }); !errors.Is(err, pay.ErrConflict) {
			t.Errorf("second user with one address: %v; want ErrConflict", err)
		}
		members, err := db.FindMembers(ctx, scope.ProjectID)
		if err != nil || len(members) != 2 || members[0].User.Email != "ada@example.com" || members[1].Role != pay.RoleViewer {
			t.Fatalf("FindMembers = %+v, %v", members, err)
		}

		// A session finds its user and role in one query; removing the
		// member ends it.
		s := &pay.StaffSession{TokenHash: pay.HashKey("token-b"), UserID: bob.ID, ProjectID: scope.ProjectID, ExpiresAt: 2e9, IdleUntil: 1e9}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateStaffSession(ctx, s) }); err != nil {
			t.Fatal(err)
		}
		si, err := db.FindStaffSession(ctx, pay.HashKey("token-b"))
		if err != nil || si.User.Email != "bob@example.com" || si.Role != pay.RoleViewer || si.Session.ID != s.ID {
			t.Fatalf("FindStaffSession = %+v, %v", si, err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.TouchStaffSession(ctx, s.ID, 3e9) }); err != nil {
			t.Fatal(err)
		}
		if si, _ = db.FindStaffSession(ctx, pay.HashKey("token-b")); si.Session.IdleUntil != 2e9 {
			t.Errorf("idle_until after a touch past expiry = %d; want the absolute expiry 2e9", si.Session.IdleUntil)
		}
		// The last admin stays; the viewer goes, with the session.
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RemoveMember(ctx, scope.ProjectID, ada.ID) }); !errors.Is(err, pay.ErrConflict) {
			t.Errorf("remove last admin: %v; want ErrConflict", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RemoveMember(ctx, scope.ProjectID, bob.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindStaffSession(ctx, pay.HashKey("token-b")); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("session of a removed member: %v; want ErrNotFound", err)
		}
	})
}

func TestSignInTokenIsSpentOnce(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		now := db.Now().Unix()
		for _, tok := range []*pay.SignInToken{
			{TokenHash: "live", Purpose: pay.TokenSignIn, Email: "ada@example.com", ProjectID: scope.ProjectID, ExpiresAt: now + 900},
			{TokenHash: "old", Purpose: pay.TokenSignIn, Email: "ada@example.com", ProjectID: scope.ProjectID, ExpiresAt: now - 1},
		} {
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateSignInToken(ctx, tok) }); err != nil {
				t.Fatal(err)
			}
		}
		spend := func(hash, purpose string) (*pay.SignInToken, error) {
			var got *pay.SignInToken
			err := db.Tx(ctx, func(tx *store.Tx) error {
				var err error
				got, err = tx.SpendSignInToken(ctx, hash, purpose)
				return err
			})
			return got, err
		}
		if _, err := spend("live", pay.TokenInvite); !errors.Is(err, store.ErrTokenUnknown) {
			t.Errorf("a sign-in link spent as an invite: %v; want ErrTokenUnknown", err)
		}
		if _, err := spend("old", pay.TokenSignIn); !errors.Is(err, store.ErrTokenExpired) {
			t.Errorf("expired link: %v; want ErrTokenExpired", err)
		}
		var (
			wg             sync.WaitGroup
			mu             sync.Mutex
			spent, refused int
		)
		for range 4 {
			wg.Go(func() {
				tok, err := spend("live", pay.TokenSignIn)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && tok.Email == "ada@example.com":
					spent++
				case errors.Is(err, store.ErrTokenUsed):
					refused++
				default:
					t.Errorf("spend: %+v, %v", tok, err)
				}
			})
		}
		wg.Wait()
		if spent != 1 || refused != 3 {
			t.Errorf("four spends of one link at once: %d spent, %d refused; want 1 and 3", spent, refused)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		other := storetest.Project(t, db)
		var ids []string
		for i, action := range []string{"session.signed_in", "api_key.created", "refund.created"} {
			e := &pay.AuditEntry{ProjectID: scope.ProjectID, Livemode: i == 2, ActorEmail: "ada@example.com", Action: action, Detail: map[string]string{"n": "1"}}
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.AppendAudit(ctx, e) }); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			return tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: other.ProjectID, Action: "session.signed_in"})
		}); err != nil {
			t.Fatal(err)
		}
		page, err := db.FindAudit(ctx, scope.ProjectID, pay.Page{Limit: 2})
		if err != nil || len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != ids[2] || page.Data[0].Detail["n"] != "1" {
			t.Fatalf("FindAudit first page = %+v, %v", page, err)
		}
		next, err := db.FindAudit(ctx, scope.ProjectID, pay.Page{Limit: 2, StartingAfter: page.Data[1].ID})
		if err != nil || len(next.Data) != 1 || next.HasMore || next.Data[0].ID != ids[0] {
			t.Fatalf("FindAudit second page = %+v, %v", next, err)
		}
		for _, stmt := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`} {
			if _, err := db.RawExec(ctx, stmt); err == nil {
				t.Errorf("%s: no error; the audit log must refuse it", stmt)
			}
		}
	})
}
