package store_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// benchDBs are the databases the store benchmarks run on: SQLite always,
// PostgreSQL when CALMONY_TEST_POSTGRES_URL is set.
func benchDBs() []struct {
	name string
	open func(testing.TB) *store.DB
} {
	dbs := []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.OpenSQLite}}
	if os.Getenv(storetest.PostgresURLEnv) != "" {
		dbs = append(dbs, struct {
			name string
			open func(testing.TB) *store.DB
		}{"postgres", storetest.OpenPostgres})
	}
	return dbs
}

// benchWrites runs write once per iteration: "serial" with one caller at a
// time, "parallel" with 64 concurrent callers (on 2 CPUs), which SQLite's
// group commit batches.
func benchWrites(b *testing.B, write func(b *testing.B, db *store.DB, scope pay.Scope, i int64)) {
	for _, d := range benchDBs() {
		b.Run(d.name+"/serial", func(b *testing.B) {
			db := d.open(b)
			scope := storetest.Project(b, db)
			var n atomic.Int64
			b.ReportAllocs()
			for b.Loop() {
				write(b, db, scope, n.Add(1))
			}
		})
		b.Run(d.name+"/parallel", func(b *testing.B) {
			db := d.open(b)
			scope := storetest.Project(b, db)
			var n atomic.Int64
			b.SetParallelism(32) // 32 callers per CPU: 64 on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					write(b, db, scope, n.Add(1))
				}
			})
		})
	}
}

// BenchmarkCreateCustomer measures the store's write path: a customer and
// its customer.created event in one transaction.
func BenchmarkCreateCustomer(b *testing.B) {
	benchWrites(b, func(b *testing.B, db *store.DB, scope pay.Scope, i int64) {
		ctx := context.Background()
		if err := db.Tx(ctx, func(tx *store.Tx) error { return createWithEvent(ctx, tx, scope, i) }); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCreateCustomerIdempotent is what POST /v1/customers with an
// Idempotency-Key writes: the customer, its event and the key's row with the
// stored response, in one transaction.
func BenchmarkCreateCustomerIdempotent(b *testing.B) {
	benchWrites(b, func(b *testing.B, db *store.DB, scope pay.Scope, i int64) {
		ctx := context.Background()
		k := store.IdemKey{Scope: scope, Key: fmt.Sprintf("bench-%d", i)}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := createWithEvent(ctx, tx, scope, i); err != nil {
				return err
			}
			return tx.RecordIdempotent(ctx, store.NewIdemRecord(), k, "POST", "/v1/customers", "fingerprint", 200, []byte(`{"id":"cus_…","object":"customer"}`))
		})
		if err != nil {
			b.Fatal(err)
		}
	})
}

func createWithEvent(ctx context.Context, tx *store.Tx, scope pay.Scope, i int64) error {
	c := &pay.Customer{Scope: scope, Email: fmt.Sprintf("c%d@example.com", i), Name: "Bench Customer",
		Metadata: map[string]string{"order_id": "6735"}}
	if err := tx.CreateCustomer(ctx, c); err != nil {
		return err
	}
	return tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: "customer.created", ObjectID: c.ID,
		Data: []byte(`{"object":{"id":"` + c.ID + `","object":"customer"}}`)})
}
