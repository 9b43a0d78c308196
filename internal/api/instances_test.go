package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// changeWithin is how long a change made through one instance may take to
// apply on the others (issue 22: within one second).
const changeWithin = time.Second

// within polls ok until it holds, failing the test after changeWithin, and
// returns how long it took.
func within(t *testing.T, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > changeWithin {
			t.Fatalf("%s: not within %v", what, changeWithin)
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Since(start)
	t.Logf("%s: %v", what, d)
	return d
}

// Two instances on one PostgreSQL database, each with a store of its own
// and caches that would keep keys and settings for an hour: a key revoked,
// a key created, an origin added or removed and currencies changed through
// one are seen by the other within a second, through PostgreSQL's
// notifications alone.
func TestCachesInvalidatedAcrossInstances(t *testing.T) {
	t.Parallel()
	a := apitest.Start(t, apitest.Options{Postgres: true, CacheExpiry: time.Hour})
	b := apitest.Start(t, apitest.Options{Share: a, OwnStore: true, CacheExpiry: time.Hour})
	if a.DB == b.DB {
		t.Fatal("the two instances share a store handle")
	}
	ctx := context.Background()
	tx := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := a.DB.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	list := func(srv *apitest.Server, key string) int {
		return do(t, srv, call{method: "GET", path: "/v1/customers?limit=1", key: key}).status
	}

	t.Run("key revoked", func(t *testing.T) {
		key := apitest.NewKey(t, a.DB, a.Project, false)
		for range 2 { // the second is answered from b's cache
			if s := list(b, key); s != 200 {
				t.Fatalf("the key on b: %d", s)
			}
		}
		rec, err := a.DB.FindAPIKeyByHash(ctx, pay.HashKey(key))
		if err != nil {
			t.Fatal(err)
		}
		tx(func(tx *store.Tx) error { _, err := a.Payments.RevokeAPIKey(ctx, tx, a.Project, rec.ID); return err })
		if s := list(a, key); s != 401 {
			t.Errorf("the revoked key on a, at once: %d, want 401", s)
		}
		within(t, "revoked key refused by b", func() bool { return list(b, key) == 401 })
	})

	t.Run("key created", func(t *testing.T) {
		// b has looked the key up before it existed, and cached that.
		secret, rec := pay.NewSecretKey(false)
		rec.ProjectID = a.Project
		if s := list(b, secret); s != 401 {
			t.Fatalf("an unknown key on b: %d", s)
		}
		tx(func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, &rec) })
		within(t, "new key accepted by b", func() bool { return list(b, secret) == 200 })
	})

	t.Run("origin added and removed", func(t *testing.T) {
		const origin = "https://shop.instances.example"
		preflight := func() string {
			return do(t, b, call{method: "OPTIONS", path: "/v1/customers", key: "-", header: map[string]string{
				"Origin": origin, "Access-Control-Request-Method": "POST"}}).header.Get("Access-Control-Allow-Origin")
		}
		request := func() string {
			return do(t, b, call{method: "GET", path: "/v1/customers?limit=1", header: map[string]string{"Origin": origin}}).header.Get("Access-Control-Allow-Origin")
		}
		if preflight() != "" {
			t.Fatal("the origin is allowed before it was added")
		}
		tx(func(tx *store.Tx) error { _, err := a.Payments.AddOrigin(ctx, tx, a.Project, origin); return err })
		within(t, "added origin allowed by b", func() bool { return preflight() == origin && request() == origin })
		tx(func(tx *store.Tx) error { _, err := a.Payments.RemoveOrigin(ctx, tx, a.Project, origin); return err })
		within(t, "removed origin refused by b", func() bool { return preflight() == "" && request() == "" })
	})

	t.Run("currencies", func(t *testing.T) {
		pi := func() int {
			return do(t, b, call{method: "POST", path: "/v1/payment_intents", body: "amount=500&currency=usd"}).status
		}
		if s := pi(); s != 400 {
			t.Fatalf("a dollar payment before dollars were enabled: %d", s)
		}
		tx(func(tx *store.Tx) error {
			_, err := a.Payments.SetCurrencies(ctx, tx, a.Project, []string{"gbp", "usd"})
			return err
		})
		within(t, "currency enabled on b", func() bool { return pi() == 200 })
	})
}

// One instance, on either database, with caches that would keep keys and
// settings for an hour: its own changes apply at once (a revoked key is
// refused by the very next request).
func TestCachesInvalidatedLocally(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		srv := apitest.Start(t, apitest.Options{Postgres: postgres, CacheExpiry: time.Hour})
		ctx := context.Background()
		key := apitest.NewKey(t, srv.DB, srv.Project, false)
		list := func() int { return do(t, srv, call{method: "GET", path: "/v1/customers?limit=1", key: key}).status }
		if s := list(); s != 200 {
			t.Fatalf("the key: %d", s)
		}
		rec, err := srv.DB.FindAPIKeyByHash(ctx, pay.HashKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := srv.Payments.RevokeAPIKey(ctx, tx, srv.Project, rec.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if s := list(); s != 401 {
			t.Errorf("the revoked key, at once: %d, want 401", s)
		}
		const origin = "https://local.example"
		if err := srv.DB.Tx(ctx, func(tx *store.Tx) error { _, err := srv.Payments.AddOrigin(ctx, tx, srv.Project, origin); return err }); err != nil {
			t.Fatal(err)
		}
		within(t, "added origin allowed", func() bool {
			return do(t, srv, call{method: "OPTIONS", path: "/v1/customers", key: "-", header: map[string]string{
				"Origin": origin, "Access-Control-Request-Method": "POST"}}).header.Get("Access-Control-Allow-Origin") == origin
		})
	})
}
