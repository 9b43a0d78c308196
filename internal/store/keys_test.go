package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// openWith opens and migrates the database at dsn with a keyring of the
// current key and older ones.
func openWith(t *testing.T, dsn string, current string, old ...string) (*store.DB, error) {
	t.Helper()
	master := func(s string) []byte {
		b, err := secret.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var olds [][]byte
	for _, o := range old {
		olds = append(olds, master(o))
	}
	keys, err := secret.New(master(current), olds...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Options{DSN: dsn, Keys: keys, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// TestEncryptionKeyCheckAndRotation: a database refuses a key that does not
// open its data; a rotation reads with the old key, writes with the new one,
// keeps email lookups working, and after Reencrypt needs only the new key.
func TestEncryptionKeyCheckAndRotation(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[postgres]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := storetest.DSN(t, postgres)
			ctx := context.Background()
			keyA, keyB := secret.NewKey(), secret.NewKey()

			db, err := openWith(t, dsn, keyA)
			if err != nil {
				t.Fatal(err)
			}
			scope := storetest.Project(t, db)
			old := &pay.Customer{Scope: scope, Email: "old@example.com", Name: "Old"}
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, old) }); err != nil {
				t.Fatal(err)
			}
			db.Close()

			// Another key alone is refused, before anything is written; also
			// by a database written before keys were recorded.
			if _, err := openWith(t, dsn, keyB); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("a different key: %v, want ErrWrongKey", err)
			}
			raw, err := openWith(t, dsn, keyA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.RawExec(ctx, `DELETE FROM encryption_keys`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			if _, err := openWith(t, dsn, keyB); !errors.Is(err, store.ErrWrongKey) {
				t.Fatalf("a different key on a database that recorded none: %v, want ErrWrongKey", err)
			}

			// The rotation: the new key with the old one.
			db, err = openWith(t, dsn, keyB, keyA)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := db.FindCustomer(ctx, scope, old.ID); err != nil || got.Email != "old@example.com" {
				t.Fatalf("an old customer during the rotation: %+v %v", got, err)
			}
			fresh := &pay.Customer{Scope: scope, Email: "new@example.com"}
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, fresh) }); err != nil {
				t.Fatal(err)
			}
			for _, email := range []string{"old@example.com", "new@example.com"} {
				l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: email}, pay.Page{Limit: 10})
				if err != nil || len(l.Data) != 1 {
					t.Errorf("customers with email %s during the rotation: %v %v", email, l.Data, err)
				}
			}
			n, err := db.Reencrypt(ctx)
			if err != nil || n == 0 {
				t.Fatalf("Reencrypt = %d, %v", n, err)
			}
			if n, err := db.Reencrypt(ctx); err != nil || n != 0 {
				t.Errorf("a second Reencrypt = %d, %v, want nothing left to do", n, err)
			}
			db.Close()

			// Afterwards the new key alone opens everything; the old one no more.
			db, err = openWith(t, dsn, keyB)
			if err != nil {
				t.Fatalf("the new key after Reencrypt: %v", err)
			}
			if got, err := db.FindCustomer(ctx, scope, old.ID); err != nil || got.Name != "Old" {
				t.Errorf("the old customer after the rotation: %+v %v", got, err)
			}
			l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: "old@example.com"}, pay.Page{Limit: 10})
			if err != nil || len(l.Data) != 1 {
				t.Errorf("email lookup after the rotation: %v %v", l.Data, err)
			}
			db.Close()
			if _, err := openWith(t, dsn, keyA); !errors.Is(err, store.ErrWrongKey) {
				t.Errorf("the retired key: %v, want ErrWrongKey", err)
			}
		})
	}
}
