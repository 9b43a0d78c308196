package store_test

import (
	"context"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestReady: a migrated store is ready with its schema current; a closed
// one fails.
func TestReady(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		ctx := context.Background()
		// A store of its own: the test closes it.
		db, err := store.Open(ctx, store.Options{DSN: storetest.DSN(t, postgres), Keys: storetest.Keys(t), MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		if current, err := db.Ready(ctx); err == nil || current {
			t.Fatalf("Ready before migrating = %v, %v; want false and an error (no migrations table)", current, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if current, err := db.Ready(ctx); err != nil || !current {
			t.Fatalf("Ready = %v, %v; want true, nil", current, err)
		}
		// A newer schema (a newer instance migrated: a rolling upgrade) is
		// current; one missing this binary's newest migration is not.
		if _, err := db.RawExec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (9999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		if current, err := db.Ready(ctx); err != nil || !current {
			t.Errorf("Ready on a newer schema = %v, %v; want true, nil", current, err)
		}
		_, known, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.RawExec(ctx, `DELETE FROM schema_migrations WHERE version >= $1`, known); err != nil {
			t.Fatal(err)
		}
		if current, err := db.Ready(ctx); err != nil || current {
			t.Errorf("Ready without the newest migration = %v, %v; want false, nil", current, err)
		}
		db.Close()
		if _, err := db.Ready(ctx); err == nil {
			t.Fatal("Ready on a closed store succeeded")
		}
	})
}

// TestOperationsGauges: the webhook queue's depth and oldest pending
// delivery, and the oldest wall-clock billing action, across projects.
func TestOperationsGauges(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if q, err := db.FindWebhookQueue(ctx); err != nil || q != (store.WebhookQueue{}) {
			t.Fatalf("empty FindWebhookQueue = %+v, %v", q, err)
		}
		if due, err := db.FindOldestDue(ctx); err != nil || due != 0 {
			t.Fatalf("empty FindOldestDue = %d, %v", due, err)
		}
		a, b := storetest.Project(t, db), storetest.Project(t, db)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: a}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: a}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: b}, testSecret)
		first := createEvent(t, db, a, "customer.created")
		createEvent(t, db, b, "customer.created")
		q, err := db.FindWebhookQueue(ctx)
		if err != nil || q.Pending != 3 || q.OldestPending == 0 || q.OldestPending > first.Created {
			t.Fatalf("FindWebhookQueue = %+v, %v; want 3 pending, the oldest at or before %d", q, err, first.Created)
		}

		for _, s := range []*pay.Subscription{
			{Scope: a, Customer: "cus_a", Status: pay.SubscriptionActive, Currency: "gbp", CollectionMethod: pay.CollectCharge, NextActionAt: 5000},
			{Scope: b, Customer: "cus_b", Status: pay.SubscriptionActive, Currency: "gbp", CollectionMethod: pay.CollectCharge, NextActionAt: 4000},
			{Scope: b, Customer: "cus_c", Status: pay.SubscriptionCanceled, Currency: "gbp", CollectionMethod: pay.CollectCharge},
		} {
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateSubscription(ctx, s) }); err != nil {
				t.Fatal(err)
			}
		}
		if due, err := db.FindOldestDue(ctx); err != nil || due != 4000 {
			t.Fatalf("FindOldestDue = %d, %v; want 4000", due, err)
		}
		pools := db.Pools()
		if len(pools) == 0 || pools[0].Stats.MaxOpenConnections == 0 {
			t.Fatalf("Pools = %+v", pools)
		}
	})
}
