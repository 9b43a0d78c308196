package store_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// changeLog subscribes to a store's changes and hands them over in order.
type changeLog chan store.Change

func subscribe(t *testing.T, db *store.DB) changeLog {
	t.Helper()
	c := make(changeLog, 100)
	t.Cleanup(db.OnChange(func(ch store.Change) { c <- ch }))
	return c
}

// next returns the next change, failing the test after within.
func (c changeLog) next(t *testing.T, within time.Duration) store.Change {
	t.Helper()
	select {
	case ch := <-c:
		return ch
	case <-time.After(within):
		t.Fatalf("no change delivered within %v", within)
		return store.Change{}
	}
}

// none fails the test if a change is waiting.
func (c changeLog) none(t *testing.T) {
	t.Helper()
	select {
	case ch := <-c:
		t.Fatalf("unexpected change %+v", ch)
	default:
	}
}

// Every write of a cached setting delivers its change to the process's
// subscribers once it commits, before Tx returns; a write that rolls back
// delivers nothing.
func TestChangesDeliveredOnCommit(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		changes := subscribe(t, db)
		p := &pay.Project{Name: "Changes"}
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		want := func(kind store.ChangeKind) {
			t.Helper()
			select {
			case got := <-changes:
				if w := (store.Change{Kind: kind, Project: p.ID}); got != w {
					t.Fatalf("change %+v, want %+v", got, w)
				}
			default:
				t.Fatalf("no %s change delivered when Tx returned", kind)
			}
			changes.none(t)
		}
		tx(func(tx *store.Tx) error { return tx.CreateProject(ctx, p) })
		want(store.ChangeProject)

		_, k := pay.NewSecretKey(false)
		k.ProjectID = p.ID
		tx(func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, &k) })
		want(store.ChangeKeys)
		// Two changes of one kind in one transaction are delivered once.
		_, k2 := pay.NewSecretKey(false)
		k2.ProjectID = p.ID
		tx(func(tx *store.Tx) error {
			if err := tx.CreateAPIKey(ctx, &k2); err != nil {
				return err
			}
			return tx.ExpireAPIKey(ctx, k.ID, time.Now().Unix()+60)
		})
		want(store.ChangeKeys)
		tx(func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID) })
		want(store.ChangeKeys)
		// A key that is not there changes nothing.
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID) }); !errors.Is(err, pay.ErrNotFound) {
			t.Fatalf("revoking a revoked key: %v, want ErrNotFound", err)
		}
		changes.none(t)

		tx(func(tx *store.Tx) error { return tx.AddOrigin(ctx, p.ID, "https://shop.example") })
		want(store.ChangeOrigins)
		tx(func(tx *store.Tx) error { return tx.RemoveOrigin(ctx, p.ID, "https://shop.example") })
		want(store.ChangeOrigins)
		tx(func(tx *store.Tx) error { return tx.SetProjectCurrencies(ctx, p.ID, []string{"eur"}) })
		want(store.ChangeProject)

		// Rolled back: nothing delivered, and the origin is not there.
		boom := errors.New("boom")
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := tx.AddOrigin(ctx, p.ID, "https://rolled.example"); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		changes.none(t)
		if o, err := db.FindOrigins(ctx, p.ID); err != nil || len(o[p.ID]) != 0 {
			t.Fatalf("origins after rollback: %v, %v", o, err)
		}
	})
}

// Two instances on one PostgreSQL database: a change committed through one
// reaches the other's subscribers through its listener, and one rolled back
// does not; the listener reconnects after its connection is killed, tells
// its subscribers to drop everything, and goes on delivering.
func TestListenChanges(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skip(storetest.PostgresURLEnv + " is not set")
	}
	ctx := context.Background()
	dsn := storetest.DSN(t, true)
	keys := storetest.Keys(t)
	a := storetest.OpenDSN(t, dsn, keys, nil)
	b := storetest.OpenDSN(t, dsn, keys, nil)
	changes := subscribe(t, b)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.ListenChanges(lctx) }()
	t.Cleanup(func() { stop(); <-done })

	// Other tests share the database, and so the channel: look for ours.
	await := func(want store.Change) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			if got := changes.next(t, 2*time.Second); got == want {
				return time.Since(start)
			}
		}
	}
	await(store.Change{Kind: store.ChangeAll}) // listening
	pid := b.ListenerPID()
	if pid == 0 {
		t.Fatal("no listener PID while listening")
	}

	p := storetest.Project(t, a)
	await(store.Change{Kind: store.ChangeProject, Project: p.ProjectID})
	_, k := pay.NewSecretKey(false)
	k.ProjectID = p.ProjectID
	if err := a.Tx(ctx, func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, &k) }); err != nil {
		t.Fatal(err)
	}
	await(store.Change{Kind: store.ChangeKeys, Project: p.ProjectID})

	// A rolled-back revocation notifies nobody: the next change b hears of
	// this project is the origin added after it.
	if err := a.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeAPIKey(ctx, k.ID); err != nil {
			return err
		}
		return errors.New("changed my mind")
	}); err == nil {
		t.Fatal("the rollback committed")
	}
	if err := a.Tx(ctx, func(tx *store.Tx) error { return tx.AddOrigin(ctx, p.ProjectID, "https://shop.example") }); err != nil {
		t.Fatal(err)
	}
	for {
		got := changes.next(t, 2*time.Second)
		if got.Project != p.ProjectID {
			continue
		}
		if want := (store.Change{Kind: store.ChangeOrigins, Project: p.ProjectID}); got != want {
			t.Fatalf("change %+v, want %+v (the rolled-back revocation was notified?)", got, want)
		}
		break
	}

	// Kill the listener's connection: it comes back on a new one, says
	// that anything may have changed, and hears the next revocation.
	var killed bool
	if err := a.RawQueryRow(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, killed, err)
	}
	await(store.Change{Kind: store.ChangeAll})
	if np := b.ListenerPID(); np == 0 || np == pid {
		t.Fatalf("listener PID after reconnecting = %d (was %d)", np, pid)
	}
	start := time.Now()
	if err := a.Tx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, k.ID) }); err != nil {
		t.Fatal(err)
	}
	await(store.Change{Kind: store.ChangeKeys, Project: p.ProjectID})
	if d := time.Since(start); d > time.Second {
		t.Errorf("the revocation reached the other instance after %v", d)
	}
}

// With ListenDSN (a database reached through a transaction-mode pooler,
// where LISTEN does not work), the listener connects there, not to DSN.
func TestListenDSN(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skip(storetest.PostgresURLEnv + " is not set")
	}
	ctx := context.Background()
	dsn := storetest.DSN(t, true)
	keys := storetest.Keys(t)
	a := storetest.OpenDSN(t, dsn, keys, nil)
	proxy := storetest.NewProxy(t, dsn) // stands for the pooler
	b, err := store.Open(ctx, store.Options{DSN: proxy.DSN, ListenDSN: dsn, Keys: keys, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	proxy.Down()
	changes := subscribe(t, b)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.ListenChanges(lctx) }()
	t.Cleanup(func() { stop(); <-done })
	for changes.next(t, 2*time.Second).Kind != store.ChangeAll { // listening, not through the proxy
	}
	p := storetest.Project(t, a)
	for changes.next(t, 2*time.Second) != (store.Change{Kind: store.ChangeProject, Project: p.ProjectID}) {
	}
}
