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

// Portal configurations round-trip with their features, one default per
// scope; sessions are found by their token's hash only, whatever the
// scope, and revoked per customer; a portal's card-replacement checkout
// session is internal.
func TestPortal(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		tx := func(fn func(tx *store.Tx) error) error { return db.Tx(ctx, fn) }

		cfg := &pay.PortalConfiguration{Scope: scope, Active: true, IsDefault: true, Name: "Standard",
			DefaultReturnURL: "https://shop.example.com/account", Business: pay.PortalBusinessProfile{Headline: "Hello"},
			Features: pay.DefaultPortalFeatures(), Metadata: map[string]string{"k": "v"}}
		cfg.Features.SubscriptionUpdate.Products = []pay.PortalProduct{{Product: "prod_1", Prices: []string{"price_1", "price_2"}}}
		if err := tx(func(tx *store.Tx) error { return tx.CreatePortalConfiguration(ctx, cfg) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindPortalConfiguration(ctx, scope, cfg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(cfg, got); diff != "" {
			t.Errorf("FindPortalConfiguration (-stored +found):\n%s", diff)
		}
		if _, err := db.FindPortalConfiguration(ctx, storetest.Project(t, db), cfg.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("another project's configuration: %v, want ErrNotFound", err)
		}
		// A second default in the scope is refused by the database.
		second := &pay.PortalConfiguration{Scope: scope, Active: true, IsDefault: true}
		if err := tx(func(tx *store.Tx) error { return tx.CreatePortalConfiguration(ctx, second) }); err == nil {
			t.Error("a second default configuration was stored")
		}
		second.IsDefault = false
		if err := tx(func(tx *store.Tx) error {
			if err := tx.ClearPortalDefault(ctx, scope); err != nil {
				return err
			}
			second.IsDefault = true
			return tx.CreatePortalConfiguration(ctx, second)
		}); err != nil {
			t.Fatal(err)
		}
		var def *pay.PortalConfiguration
		if err := tx(func(tx *store.Tx) error { def, err = tx.FindPortalDefault(ctx, scope); return err }); err != nil || def.ID != second.ID {
			t.Errorf("default after moving it: %v %v", def, err)
		}

		token := pay.NewPortalToken()
		if len(token) != 43 {
			t.Fatalf("token %q: %d characters, want 43 (256 bits)", token, len(token))
		}
		ps := &pay.PortalSession{Scope: scope, ExpiresAt: 2e9, Customer: "cus_1", Configuration: cfg.ID, ReturnURL: "https://x.example/",
			TokenHash: pay.PortalTokenHash(token), Token: token}
		other := &pay.PortalSession{Scope: scope, ExpiresAt: 2e9, Customer: "cus_2", Configuration: cfg.ID, TokenHash: pay.PortalTokenHash(pay.NewPortalToken())}
		if err := tx(func(tx *store.Tx) error {
			if err := tx.CreatePortalSession(ctx, ps); err != nil {
				return err
			}
			return tx.CreatePortalSession(ctx, other)
		}); err != nil {
			t.Fatal(err)
		}
		found, err := db.FindPortalSessionByToken(ctx, pay.PortalTokenHash(token))
		if err != nil || found.ID != ps.ID || found.Token != "" || found.Customer != "cus_1" || !found.Usable(1e9) || found.Usable(2e9) {
			t.Errorf("FindPortalSessionByToken = %+v, %v", found, err)
		}
		for _, wrong := range []string{token, pay.PortalTokenHash(token + "x"), ""} {
			if _, err := db.FindPortalSessionByToken(ctx, wrong); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("FindPortalSessionByToken(%q): %v, want ErrNotFound", wrong, err)
			}
		}
		var n int64
		if err := tx(func(tx *store.Tx) error { n, err = tx.RevokePortalSessions(ctx, scope, "cus_1", 1e9); return err }); err != nil || n != 1 {
			t.Errorf("revoke: %d %v", n, err)
		}
		if s, _ := db.FindPortalSessionByToken(ctx, pay.PortalTokenHash(token)); s.Usable(1e9) || s.RevokedAt != 1e9 {
			t.Errorf("revoked session: %+v", s)
		}
		if s, _ := db.FindPortalSessionByToken(ctx, other.TokenHash); !s.Usable(1e9) {
			t.Error("another customer's session was revoked")
		}

		// The card replacement's checkout session is internal.
		cs := &pay.CheckoutSession{Scope: scope, PortalSession: ps.ID, ExpiresAt: 2e9, Mode: "setup", Status: pay.CheckoutOpen,
			PaymentStatus: "no_payment_required", Currency: "gbp", Customer: "cus_1"}
		if err := tx(func(tx *store.Tx) error { return tx.CreateCheckoutSession(ctx, cs) }); err != nil {
			t.Fatal(err)
		}
		if byID, err := db.FindCheckoutSessionByID(ctx, cs.ID); err != nil || byID.PortalSession != ps.ID || !byID.Internal() || !byID.Setup() {
			t.Errorf("FindCheckoutSessionByID: %+v %v", byID, err)
		}
		if _, err := db.FindCheckoutSession(ctx, scope, cs.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("the API finds a portal's checkout session: %v", err)
		}
		if l, err := db.FindCheckoutSessions(ctx, scope, "", pay.Page{Limit: 10}); err != nil || len(l.Data) != 0 {
			t.Errorf("the API lists %d checkout sessions (%v), want none", len(l.Data), err)
		}
	})
}
