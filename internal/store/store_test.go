package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func createCustomer(t *testing.T, db *store.DB, c *pay.Customer) *pay.Customer {
	t.Helper()
	if err := db.Tx(context.Background(), func(tx *store.Tx) error { return tx.CreateCustomer(context.Background(), c) }); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCustomerLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		c := createCustomer(t, db, &pay.Customer{Scope: scope, Email: "jenny@example.com", Name: "Jenny Rosen",
			Address: &pay.Address{Line1: "1 High St", City: "London", Country: "GB"}, Metadata: map[string]string{"order": "42"}})
		if !pay.HasPrefix(c.ID, pay.PrefixCustomer) || c.Created == 0 {
			t.Fatalf("created customer = %+v", c)
		}
		got, err := db.FindCustomer(ctx, scope, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("FindCustomer mismatch (-want +got):\n%s", diff)
		}

		// Another project, or the other mode, never sees it.
		other := storetest.Project(t, db)
		if _, err := db.FindCustomer(ctx, other, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("FindCustomer from other project: err = %v, want ErrNotFound", err)
		}
		live := pay.Scope{ProjectID: scope.ProjectID, Livemode: true}
		if _, err := db.FindCustomer(ctx, live, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("FindCustomer from live mode: err = %v, want ErrNotFound", err)
		}

		got.Name = "Jenny R."
		got.Email = ""
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.UpdateCustomer(ctx, got) }); err != nil {
			t.Fatal(err)
		}
		again, _ := db.FindCustomer(ctx, scope, c.ID)
		if again.Name != "Jenny R." || again.Email != "" {
			t.Errorf("after update: %+v", again)
		}

		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteCustomer(ctx, scope, c.ID) }); err != nil {
			t.Fatal(err)
		}
		gone, err := db.FindCustomer(ctx, scope, c.ID)
		if err != nil || !gone.Deleted || gone.Name != "" || gone.Address != nil || len(gone.Metadata) != 0 {
			t.Errorf("deleted customer = %+v, %v; want an erased tombstone", gone, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteCustomer(ctx, scope, c.ID) })
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestCustomerPersonalDataIsEncrypted(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t)
	scope := storetest.Project(t, db)
	c := createCustomer(t, db, &pay.Customer{Scope: scope, Email: "secret.person@example.com", Name: "Secret Person", Phone: "+447700900123"})
	var raw []byte
	var index string
	err := db.RawQueryRow(context.Background(), `SELECT pii, email_index FROM customers WHERE id = $1`, c.ID).Scan(&raw, &index)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"secret.person", "Secret Person", "7700900123"} {
		if strings.Contains(string(raw), s) || strings.Contains(index, s) {
			t.Errorf("stored row contains %q in plaintext", s)
		}
	}
}

func TestFindCustomersPagination(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		var ids []string
		for i := 0; i < 7; i++ {
			email := "other@example.com"
			if i%2 == 0 {
				email = "even@example.com"
			}
			ids = append(ids, createCustomer(t, db, &pay.Customer{Scope: scope, Email: email}).ID)
		}
		// Walk forward in pages of 3 and collect every ID once.
		var seen []string
		page := pay.Page{Limit: 3}
		for {
			l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range l.Data {
				seen = append(seen, c.ID)
			}
			if !l.HasMore {
				break
			}
			page.StartingAfter = l.Data[len(l.Data)-1].ID
		}
		if len(seen) != 7 || !sameSet(seen, ids) {
			t.Fatalf("paged IDs = %v, want the 7 created", seen)
		}
		// Walking back from the last item returns the page before it, newest first.
		back, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 2, EndingBefore: seen[6]})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{seen[4], seen[5]}, idsOf(back.Data)); diff != "" || !back.HasMore {
			t.Errorf("ending_before page (-want +got):\n%s has_more=%v", diff, back.HasMore)
		}
		even, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: "even@example.com"}, pay.Page{Limit: 10})
		if err != nil || len(even.Data) != 4 {
			t.Errorf("email filter: %d customers, %v; want 4", len(even.Data), err)
		}
		if _, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 10, StartingAfter: "cus_missing"}); err == nil {
			t.Error("unknown cursor: want an error")
		}
		future := time.Now().Add(time.Hour).Unix()
		none, _ := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 10, Created: pay.Range{Gte: &future}})
		if len(none.Data) != 0 {
			t.Errorf("created[gte]=future: %d customers, want 0", len(none.Data))
		}
	})
}

func idsOf(cs []*pay.Customer) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestEvents(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		for _, typ := range []string{"customer.created", "customer.updated", "payment_intent.created"} {
			e := &pay.Event{Scope: scope, Type: typ, ObjectID: "cus_1", Data: []byte(`{"object":{"id":"cus_1"}}`)}
			if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateEvent(ctx, e) }); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindEvent(ctx, scope, e.ID)
			if err != nil || string(got.Data) != string(e.Data) || got.APIVersion != pay.APIVersion {
				t.Fatalf("FindEvent = %+v, %v", got, err)
			}
		}
		l, err := db.FindEvents(ctx, scope, store.EventFilter{Types: []string{"customer.*"}}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 2 {
			t.Errorf("customer.* events: %d, %v; want 2", len(l.Data), err)
		}
		l, _ = db.FindEvents(ctx, scope, store.EventFilter{Types: []string{"payment_intent.created", "customer.updated"}}, pay.Page{Limit: 10})
		if len(l.Data) != 2 {
			t.Errorf("two exact types: %d events, want 2", len(l.Data))
		}
	})
}

func TestTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		boom := errors.New("boom")
		var id string
		err := db.Tx(ctx, func(tx *store.Tx) error {
			c := &pay.Customer{Scope: scope, Name: "x"}
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			id = c.ID
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx err = %v, want boom", err)
		}
		if _, err := db.FindCustomer(ctx, scope, id); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("customer of a rolled-back tx: err = %v, want ErrNotFound", err)
		}
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := store.IdemKey{Scope: storetest.Project(t, db), Key: "key-1"}
		begin := func(fp string) int {
			t.Helper()
			rec, err := beginIdempotent(ctx, db, k, "POST", "/v1/customers", fp, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return rec.Outcome
		}
		if got := begin("a"); got != store.IdemStarted {
			t.Fatalf("first begin = %d, want started", got)
		}
		if got := begin("a"); got != store.IdemInFlight {
			t.Errorf("begin while in flight = %d, want in-flight", got)
		}
		if got := begin("b"); got != store.IdemMismatch {
			t.Errorf("begin with other params = %d, want mismatch", got)
		}
		op := &pay.GatewayOp{Scope: k.Scope, IdempotencyKey: k.Key} // the claim names no op
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.FinishOpIdempotent(ctx, op, 200, []byte(`{"id":"cus_1"}`)) }); err != nil {
			t.Fatal(err)
		}
		rec, err := beginIdempotent(ctx, db, k, "POST", "/v1/customers", "a", time.Minute)
		if err != nil || rec.Outcome != store.IdemReplay || rec.Status != 200 || string(rec.Response) != `{"id":"cus_1"}` {
			t.Errorf("replay = %+v, %v", rec, err)
		}
	})
}

// TestIdempotencyLookupRecord covers the one-transaction form: a lookup that
// writes nothing, and a response recorded at the end of the request.
func TestIdempotencyLookupRecord(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := store.IdemKey{Scope: storetest.Project(t, db), Key: "one-tx"}
		lookup := func(fp string) *store.IdemRecord {
			t.Helper()
			var rec *store.IdemRecord
			err := db.Tx(ctx, func(tx *store.Tx) (err error) {
				rec, err = tx.LookupIdempotent(ctx, k, "POST", "/v1/customers", fp)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return rec
		}
		record := func(rec *store.IdemRecord, body string) error {
			return db.Tx(ctx, func(tx *store.Tx) error {
				return tx.RecordIdempotent(ctx, rec, k, "POST", "/v1/customers", "a", 200, []byte(body))
			})
		}
		first := lookup("a")
		if first.Outcome != store.IdemStarted {
			t.Fatalf("new key = %d, want started", first.Outcome)
		}
		if again := lookup("a"); again.Outcome != store.IdemStarted {
			t.Errorf("a lookup claimed the key: second lookup = %d", again.Outcome)
		}
		if err := record(first, `{"id":"cus_1"}`); err != nil {
			t.Fatal(err)
		}
		if rec := lookup("a"); rec.Outcome != store.IdemReplay || rec.Status != 200 || string(rec.Response) != `{"id":"cus_1"}` {
			t.Errorf("after record = %+v", rec)
		}
		if rec := lookup("b"); rec.Outcome != store.IdemMismatch {
			t.Errorf("other parameters = %d, want mismatch", rec.Outcome)
		}
		// A second request that looked the key up before the first stored its
		// response (possible on PostgreSQL) must not overwrite it.
		if err := record(first, `{"id":"cus_2"}`); !errors.Is(err, store.ErrIdempotencyRace) {
			t.Errorf("recording over a stored response: err = %v, want ErrIdempotencyRace", err)
		}
		if rec := lookup("a"); string(rec.Response) != `{"id":"cus_1"}` {
			t.Errorf("response now %s", rec.Response)
		}
	})
}

func TestIdempotencyConcurrentClaims(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := store.IdemKey{Scope: storetest.Project(t, db), Key: "race"}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			started int
		)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, err := beginIdempotent(ctx, db, k, "POST", "/v1/customers", "fp", time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if rec.Outcome == store.IdemStarted {
					mu.Lock()
					started++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if started != 1 {
			t.Errorf("%d concurrent claims started, want exactly 1", started)
		}
	})
}

func TestKeysAndOrigins(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		secretKey, k := pay.NewSecretKey(false)
		k.ProjectID = scope.ProjectID
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, &k) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindAPIKeyByHash(ctx, pay.HashKey(secretKey))
		if err != nil || got.ID != k.ID || !got.Active(time.Now().Unix()) {
			t.Fatalf("FindAPIKeyByHash = %+v, %v", got, err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID) }); err != nil {
			t.Fatal(err)
		}
		got, _ = db.FindAPIKeyByHash(ctx, pay.HashKey(secretKey))
		if got.Active(time.Now().Unix()) {
			t.Error("revoked key is active")
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.AddOrigin(ctx, scope.ProjectID, "https://shop.example.com") }); err != nil {
			t.Fatal(err)
		}
		origins, err := db.FindOrigins(ctx, "")
		if err != nil || len(origins[scope.ProjectID]) != 1 {
			t.Errorf("FindOrigins = %v, %v", origins, err)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after Migrate: %v", err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if _, err := db.RawExec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (9999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Migrate on a newer schema: err = %v, want a refusal", err)
		}
	})
}

// beginIdempotent claims k in a transaction of its own.
func beginIdempotent(ctx context.Context, db *store.DB, k store.IdemKey, method, path, fingerprint string, lease time.Duration) (*store.IdemRecord, error) {
	return claimFor(ctx, db, k, method, path, fingerprint, "", lease)
}

// claimFor claims k bound to the gateway op opID in a transaction of its own.
func claimFor(ctx context.Context, db *store.DB, k store.IdemKey, method, path, fingerprint, opID string, lease time.Duration) (*store.IdemRecord, error) {
	var rec *store.IdemRecord
	err := db.Tx(ctx, func(tx *store.Tx) (err error) {
		rec, err = tx.ClaimIdempotent(ctx, k, method, path, fingerprint, opID, lease)
		return err
	})
	return rec, err
}

// TestIdempotencyClaimTakesOver covers the two ways a claimed key is taken
// again: its owner died (its lease ran out) or the key expired.
func TestIdempotencyClaimTakesOver(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		created := func(k store.IdemKey) int64 {
			t.Helper()
			var c int64
			if err := db.RawQueryRow(ctx, `SELECT created FROM idempotency_keys WHERE project_id = $1 AND livemode = $2 AND key = $3`,
				k.Scope.ProjectID, k.Scope.Livemode, k.Key).Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		backdate := func(k store.IdemKey, seconds int) {
			t.Helper()
			if _, err := db.RawExec(ctx, `UPDATE idempotency_keys SET created = created - $2 WHERE key = $1`, k.Key, seconds); err != nil {
				t.Fatal(err)
			}
		}

		// A dead owner (a lease of 0 has run out at once): the key is taken
		// over, keeping its creation time.
		dead := store.IdemKey{Scope: scope, Key: "dead-owner"}
		if rec, err := beginIdempotent(ctx, db, dead, "POST", "/v1/refunds", "a", 0); err != nil || rec.Outcome != store.IdemStarted {
			t.Fatalf("first claim: %+v, %v", rec, err)
		}
		backdate(dead, 60)
		before := created(dead)
		if rec, err := beginIdempotent(ctx, db, dead, "POST", "/v1/refunds", "a", time.Minute); err != nil || rec.Outcome != store.IdemStarted {
			t.Fatalf("claim after the owner died: %+v, %v", rec, err)
		}
		if got := created(dead); got != before {
			t.Errorf("created = %d after taking over, want %d kept", got, before)
		}
		if rec, _ := beginIdempotent(ctx, db, dead, "POST", "/v1/refunds", "a", time.Minute); rec.Outcome != store.IdemInFlight {
			t.Errorf("claim while the new owner holds it = %d, want in flight", rec.Outcome)
		}

		// A key bound to a gateway op is never taken over, however long ago
		// its owner died: a retry waits for the op.
		bound := store.IdemKey{Scope: scope, Key: "bound"}
		if rec, err := claimFor(ctx, db, bound, "POST", "/v1/refunds", "a", "gop_1", 0); err != nil || rec.Outcome != store.IdemStarted {
			t.Fatalf("first claim: %+v, %v", rec, err)
		}
		backdate(bound, 600)
		if rec, err := claimFor(ctx, db, bound, "POST", "/v1/refunds", "a", "gop_2", time.Minute); err != nil || rec.Outcome != store.IdemBound || rec.OpID != "gop_1" {
			t.Fatalf("claim of a bound key after its owner died: %+v, %v, want bound to gop_1", rec, err)
		}
		if rec, _ := db.PeekIdempotent(ctx, bound, "POST", "/v1/refunds", "b"); rec.Outcome != store.IdemMismatch {
			t.Errorf("bound key with other parameters = %d, want a mismatch", rec.Outcome)
		}
		// Whoever settles the op stores the response, once, for that op only.
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := tx.FinishOpIdempotent(ctx, &pay.GatewayOp{ID: "gop_2", Scope: scope, IdempotencyKey: bound.Key}, 500, []byte("wrong op")); err != nil {
				return err
			}
			return tx.FinishOpIdempotent(ctx, &pay.GatewayOp{ID: "gop_1", Scope: scope, IdempotencyKey: bound.Key}, 200, []byte(`{"ok":1}`))
		}); err != nil {
			t.Fatal(err)
		}
		if rec, _ := db.PeekIdempotent(ctx, bound, "POST", "/v1/refunds", "a"); rec.Outcome != store.IdemReplay || rec.Status != 200 || string(rec.Response) != `{"ok":1}` {
			t.Errorf("after the op settled: %+v, want its response replayed", rec)
		}

		// An expired key is new again, even with other parameters.
		old := store.IdemKey{Scope: scope, Key: "expired"}
		if _, err := beginIdempotent(ctx, db, old, "POST", "/v1/refunds", "a", time.Minute); err != nil {
			t.Fatal(err)
		}
		backdate(old, int(store.IdempotencyTTL/time.Second)+10)
		stale := created(old)
		if rec, err := beginIdempotent(ctx, db, old, "POST", "/v1/refunds", "b", time.Minute); err != nil || rec.Outcome != store.IdemStarted {
			t.Fatalf("claim of an expired key: %+v, %v", rec, err)
		}
		if got := created(old); got <= stale {
			t.Errorf("created = %d, want a fresh time after %d", got, stale)
		}
	})
}

// The SQLite database and its -wal and -shm files are readable and
// writable by their owner only, whether they are new or were made before
// with wider modes. (PostgreSQL keeps its files itself.)
func TestSQLiteFilesArePrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "calmony.db")
	keys := storetest.Keys(t)
	open := func() *store.DB {
		t.Helper()
		db, err := store.Open(ctx, store.Options{DSN: path, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		storetest.Project(t, db)
		return db
	}
	files := []string{path, path + "-wal", path + "-shm"}
	check := func(when string) {
		t.Helper()
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s: mode %#o, %v; want 0600", when, filepath.Base(f), fi.Mode().Perm(), err)
			}
		}
	}
	open()
	check("new")
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open() // a second handle, as after an upgrade, finds them wider
	check("made before")
}
